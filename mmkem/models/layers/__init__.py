"""Token-level layers of the interaction modules: the KEM memory, cross-attention, the ETF and the
folded LayerNorm matmul. The two token mixers (``KEMCore``, ``TokenCrossAttention``) are registered
in ``MODELS`` and share one call contract: ``core(tokens, return_attention=False)`` with a list of
segments ``(B, N_i, C)`` returns ``(outs, attn)``, ``outs`` of the same shapes and ``attn`` None
unless asked for."""

from .etf import simplex_etf
from .kem_memory import ETF_MODES, IMPLS, TOPK_MODES, KEMCore
from .normed_matmul import (
    GatherRows,
    GradSlot,
    NormedMatmul,
    WriteBroadcast,
    gather_rows,
    normed_matmul,
    residual_matmul,
    token_stats,
    tokens_matmul,
    write_broadcast,
)
from .token_cross_attention import TokenCrossAttention
from .tokens import check_tokens, gather_tokens, is_channel_first, merge_tokens, split_tokens

__all__ = [
    'check_tokens',
    'ETF_MODES',
    'IMPLS',
    'TOPK_MODES',
    'GatherRows',
    'GradSlot',
    'KEMCore',
    'NormedMatmul',
    'WriteBroadcast',
    'TokenCrossAttention',
    'gather_rows',
    'gather_tokens',
    'is_channel_first',
    'merge_tokens',
    'normed_matmul',
    'residual_matmul',
    'simplex_etf',
    'split_tokens',
    'token_stats',
    'tokens_matmul',
    'write_broadcast',
]
