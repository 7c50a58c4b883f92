"""The paper's cross-attention baseline ("KEM w/ CA", eq. 4) on token sequences."""

from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import OptMultiConfig
from torch import Tensor, nn

from .tokens import check_tokens

__all__ = ['TokenCrossAttention']


@MODELS.register_module()
class TokenCrossAttention(BaseModule):
    """Cross-attention over the concatenation of token segments (paper eq. 4, Fig. 2).

    ``F' = softmax((LN(F) W_q)(LN(F) W_k)^T / sqrt(d_h)) (LN(F) W_v)``, ``F <- F + w_r F'``, split
    back into the segments. ``F`` is the concatenation of all segments (``n_s`` tokens, task-major
    when the segments are tasks), so every token attends to every token of every segment: cost
    ``O(2 n_s^2 d + 3 n_s d^2)``.

    The same choices as :class:`~mmkem.models.layers.KEMCore`, so that the two differ only in the
    memory: pre-LayerNorm on ``F``, ``d_e = C`` (one fused ``C -> 3C`` projection), heads of width
    ``d_h = C / num_heads``, no output projection (eq. 4 has none), residual weight ``w_r``. Same
    call contract as :class:`~mmkem.models.layers.KEMCore` too, so either can be a token mixer.
    The attention runs on ``torch.nn.functional.scaled_dot_product_attention`` (the fastest exact
    kernel available); with ``return_attention=True`` it is computed explicitly instead, to return
    the ``(n_s, n_s)`` maps.

    Args:
        embed_dims (int): Channels ``C`` of the tokens.
        num_heads (int): Attention heads; must divide ``embed_dims``. Defaults to 1.
        residual_weight (float): Weight of the residual update. Defaults to 1.0.
        qkv_bias (bool): Bias in the query/key/value projection. Defaults to True.
        init_cfg (dict or list[dict], optional): Initialisation config. Defaults to None.

    Shapes:
        - ``tokens``: list of segments ``(B, N_i, C)``, any layout.
        - output: ``(outs, attn)``; ``outs`` a list of the same shapes, same order (channel-first
          views of one ``(B, C, n_s)`` tensor); ``attn`` None,
          or with ``return_attention=True`` ``{'attention': (B, num_heads, n_s, n_s)}``,
          ``n_s = sum N_i``.
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int = 1,
        residual_weight: float = 1.0,
        qkv_bias: bool = True,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if embed_dims < 1:
            raise ValueError(f'embed_dims must be >= 1, got {embed_dims}')
        if num_heads < 1 or embed_dims % num_heads != 0:
            raise ValueError(
                f'num_heads must be >= 1 and divide embed_dims={embed_dims}, got {num_heads}'
            )
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.head_dims = embed_dims // num_heads
        self.residual_weight = residual_weight
        self.norm = nn.LayerNorm(embed_dims)
        self.qkv = nn.Linear(embed_dims, 3 * embed_dims, bias=qkv_bias)

    def forward(
        self, tokens: Sequence[Tensor], return_attention: bool = False
    ) -> Tuple[List[Tensor], Optional[Dict[str, Tensor]]]:
        """Let every token of every segment attend to all tokens.

        Args:
            tokens (Sequence[Tensor]): Token segments ``(B, N_i, C)``.
            return_attention (bool): Also return the attention maps. Defaults to False.

        Returns:
            tuple: ``outs``, a list of ``(B, N_i, C)`` tensors, and ``attn`` (None unless
            ``return_attention``): ``{'attention': (B, num_heads, n_s, n_s)}``.
        """
        check_tokens(tokens, self.embed_dims)
        # (B, n_s, C) as a channel-first view of (B, C, n_s): the output keeps that layout, so maps
        # made from it (merge_tokens) are contiguous (B, C, H, W), whatever layout came in
        x = torch.cat([tok.mT for tok in tokens], dim=2).mT
        qkv = self.qkv(self.norm(x)).unflatten(-1, (3, self.num_heads, self.head_dims))
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, H, n_s, dh)
        attn = None
        if return_attention:
            # scaled before the product (a half-precision q k^T can overflow) and normalised in
            # at least float32
            logits = (q * self.head_dims**-0.5) @ k.mT
            if logits.dtype in (torch.float16, torch.bfloat16):
                logits = logits.float()
            attention = logits.softmax(-1)
            update = attention.to(v.dtype) @ v
            attn = dict(attention=attention)
        else:
            update = F.scaled_dot_product_attention(q, k, v)
        out = x + self.residual_weight * update.transpose(1, 2).flatten(-2)
        return list(out.split([tok.shape[1] for tok in tokens], dim=1)), attn
