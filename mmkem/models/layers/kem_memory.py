"""The KEM memory on token sequences: Retrieve, Write, Broadcast (paper eqs. 1-3, and 6-7 for sKEM).

:class:`KEMCore` is registered in ``MODELS`` and works on a list of token segments ``(B, N_i, C)``;
the task-interaction modules :class:`~mmkem.models.interactions.KEM` and
:class:`~mmkem.models.interactions.SKEM` only turn the task maps ``(B, C, H, W)`` into tokens and
back, and :class:`~mmkem.models.necks.KEMMultiLevelNeck` builds it from its ``mixer`` config with
the backbone levels as segments.

Two implementations of the same equations are kept, selected by ``impl``:

- ``'plain'``: eqs. 1-3 (and 7) written as they read: project all ``n_s`` tokens to keys, values
  and write-queries, build the ``(L, n_s)`` retrieve logits and the ``(n_s, L)`` write logits.
  Cost ``O(3 n_s d^2 + 4 L n_s d)``, the paper's count. The reference in the tests.
- ``'fast'`` (default): the same outputs and gradients without any ``n_s d^2`` term. The slot-side
  projections are folded into ``L x d`` matrices by associativity
  (``(R W_qr)(LN(F) W_kr)^T = LN(F) (W_kr^T (R W_qr)^T)``, likewise for the write logits), the
  LayerNorm of ``F`` is folded into those matmuls through per-token mean and inverse std (so the
  normalised tokens are never stored), and values are projected only for the ``L k`` selected
  tokens.
  What remains over all tokens is the LayerNorm statistics and three skinny matmuls of
  ``O(L n_s d)`` (retrieve logits, write logits, output), each one GEMM per sample with the token
  axis contiguous. Channel-first token views (``feat.flatten(2).mT``) are consumed and produced in
  place, so the callers never transpose a feature map. The backward is hand-written and once
  differentiable (:class:`~mmkem.models.layers.WriteBroadcast`,
  :class:`~mmkem.models.layers.NormedMatmul`, :class:`~mmkem.models.layers.GatherRows`):
  under ``'mask_logits'`` only the ``k`` selected retrieve logits of each slot have a gradient, so
  the logits of all tokens are computed without autograd and the selected ones again from their
  gathered rows; the write's backward and the rows' gradients fill one token-sized buffer. Second-
  order gradients through the memory need ``'plain'``.
"""

import math
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import OptMultiConfig
from torch import Tensor, nn

from .etf import simplex_etf
from .normed_matmul import GradSlot, gather_rows, normed_matmul, token_stats, write_broadcast
from .tokens import check_tokens

__all__ = ['KEMCore', 'TOPK_MODES', 'ETF_MODES', 'IMPLS']


def _at_least_float32(x: Tensor) -> Tensor:
    """``x`` in float32 if it is in half precision (float16, bfloat16), else unchanged."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


TOPK_MODES = ('mask_logits', 'mask_probs')
ETF_MODES = ('task_axis', 'feature')
IMPLS = ('fast', 'plain')


@MODELS.register_module()
class KEMCore(BaseModule):
    """Retrieve, Write and Broadcast (paper eqs. 1-3, and eq. 7 for sKEM) on token sequences.

    The input is a list of token tensors ``F_i`` of shape ``(B, N_i, C)`` (tasks, or any other
    segmentation of the token axis); the memory works on their concatenation
    ``F = F_1 ⊕ ... ⊕ F_n`` (task-major, ``n_s = sum N_i`` tokens):

    1. Retrieve: ``A = (R W_qr)(LN(F) W_kr)^T / sqrt(d_h)``, ``(L, n_s)`` per head;
       ``P = topk_softmax(A)`` over the tokens, per slot; ``R^ = P (LN(F) W_vr)``, ``(L, C)``.
    2. Write: ``F^ = softmax((LN(F) W_qw)(LN(R^) W_kw)^T / sqrt(d_h)) (LN(R^) W_vw)``, the softmax
       over the ``L`` slots.
    3. Broadcast: ``F <- F + w_r F^``, split back into the ``F_i``.

    Choices the paper leaves open (see ``docs/interactions.md`` and ALGORITHMS.md, "KEM"):

    - Pre-LayerNorm on ``F`` (one LayerNorm, used by the retrieve keys and values and the write
      queries) and on ``R^``; the residual adds to the raw ``F``.
    - ``d_e = C``: all six projections are ``C -> C`` linear layers (bias if ``qkv_bias``); with
      ``num_heads`` heads each head has width ``d_h = C / num_heads`` and its logits are scaled by
      ``1/sqrt(d_h)`` (``1/sqrt(d_e)`` for one head, as in the paper). No output projection
      (eq. 2 has none): the heads' outputs are concatenated.
    - topk-softmax: ``'mask_logits'`` (ALGORITHMS.md reading (a), default): logits outside the top
      ``k`` of each slot are set to ``-inf`` before the softmax, the kept weights sum to 1;
      ``'mask_probs'`` (reading (b), Goyal et al. 2021): softmax over all tokens, then zeros outside
      the top ``k``, no renormalisation. Exactly ``k`` tokens are kept per slot and head; ties are
      broken by ``torch.topk``. ``k`` larger than the number of tokens is clipped to it, with a
      warning.
    - The memory ``R`` is initialised from a standard normal (same scale as the LayerNormed tokens);
      linear layers keep PyTorch's default initialisation.

    sKEM (``etf_mode``), eq. 7 with the ETF ``W*`` of eq. 6 (a seeded buffer, never trained, saved
    in the state dict), in one of the two readings of ALGORITHMS.md, "sKEM":

    - ``'task_axis'``: the retrieve logits are viewed as ``(L, n, m)`` (``n`` segments of equal
      length ``m``) and at each of the ``m`` positions the ``n`` task logits ``a`` become ``W* a``
      with the ``n x n`` ETF (``K = n``). Each row of ``W*`` sums to zero, so a logit common to all
      tasks is removed and the task-specific contrast picks the top ``k``.
    - ``'feature'``: ``W*`` is ``d_h x K`` (shared by the heads);
      ``A = s * norm(R W_qr W*) norm(LN(F) W_kr W*)^T`` with row-wise L2 norms. ``s`` is
      ``feature_scale`` if given, else a learnable ``exp(log_s)`` initialised to ``sqrt(d_h)``
      (cosines in ``[-1, 1]`` then span the range of the usual scaled dot products).

    Args:
        embed_dims (int): Channels ``C`` of the tokens (``d`` in the paper).
        num_slots (int): Number of memory slots ``L``. Defaults to 20.
        topk (int): Tokens kept per slot by the topk-softmax, ``k``. Defaults to 3.
        num_heads (int): Attention heads; must divide ``embed_dims``. Defaults to 1.
        topk_mode (str): ``'mask_logits'`` or ``'mask_probs'`` (see above).
            Defaults to ``'mask_logits'``.
        residual_weight (float): ``w_r`` of eq. 3. Defaults to 1.0.
        qkv_bias (bool): Whether the six projections have a bias. Defaults to True.
        etf_mode (str, optional): ``None`` (KEM), ``'task_axis'`` or ``'feature'`` (sKEM).
            Defaults to None.
        num_vertices (int, optional): ETF vertices ``K``. ``'task_axis'``: must equal the number of
            token segments at run time (required). ``'feature'``: ``2 <= K <= d_h`` (required).
            Ignored without ``etf_mode``. Defaults to None.
        etf_seed (int): Seed of the ETF's random orthonormal basis. Defaults to 0.
        feature_scale (float, optional): Fixed logit scale ``s`` of the ``'feature'`` reading;
            None makes it learnable. Defaults to None.
        impl (str): ``'fast'`` or ``'plain'`` (see the module docstring). Defaults to ``'fast'``.
        init_cfg (dict or list[dict], optional): Initialisation config. Defaults to None.

    Shapes:
        - ``tokens``: list of segments ``(B, N_i, C)`` (any layout; channel-first views stay so).
        - output: ``(outs, attn)``; ``outs`` a list of the same shapes, same order; ``attn`` None,
          or with ``return_attention=True`` ``attn['retrieve']`` ``(B, num_heads, L, n_s)`` and
          ``attn['write']`` ``(B, num_heads, n_s, L)``, ``n_s = sum N_i``.
    """

    def __init__(
        self,
        embed_dims: int,
        num_slots: int = 20,
        topk: int = 3,
        num_heads: int = 1,
        topk_mode: str = 'mask_logits',
        residual_weight: float = 1.0,
        qkv_bias: bool = True,
        etf_mode: Optional[str] = None,
        num_vertices: Optional[int] = None,
        etf_seed: int = 0,
        feature_scale: Optional[float] = None,
        impl: str = 'fast',
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if embed_dims < 1:
            raise ValueError(f'embed_dims must be >= 1, got {embed_dims}')
        if num_slots < 1:
            raise ValueError(f'num_slots must be >= 1, got {num_slots}')
        if topk < 1:
            raise ValueError(f'topk must be >= 1, got {topk}')
        if num_heads < 1 or embed_dims % num_heads != 0:
            raise ValueError(
                f'num_heads must be >= 1 and divide embed_dims={embed_dims}, got {num_heads}'
            )
        if topk_mode not in TOPK_MODES:
            raise ValueError(f'topk_mode must be one of {TOPK_MODES}, got {topk_mode!r}')
        if etf_mode is not None and etf_mode not in ETF_MODES:
            raise ValueError(f'etf_mode must be None or one of {ETF_MODES}, got {etf_mode!r}')
        if impl not in IMPLS:
            raise ValueError(f'impl must be one of {IMPLS}, got {impl!r}')
        self.embed_dims = embed_dims
        self.num_slots = num_slots
        self.topk = topk
        self.num_heads = num_heads
        self.head_dims = embed_dims // num_heads
        self.scale = self.head_dims**-0.5
        self.topk_mode = topk_mode
        self.residual_weight = residual_weight
        self.etf_mode = etf_mode
        self.impl = impl

        self.memory = nn.Parameter(torch.randn(num_slots, embed_dims))
        self.norm_tokens = nn.LayerNorm(embed_dims)
        self.norm_memory = nn.LayerNorm(embed_dims)
        self.q_r = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.k_r = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.v_r = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.q_w = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.k_w = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.v_w = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)

        self.num_vertices = None
        if etf_mode is not None:
            if num_vertices is None:
                raise ValueError(f"etf_mode={etf_mode!r} needs num_vertices (the ETF's K)")
            if etf_mode == 'task_axis':
                if num_vertices < 2:
                    raise ValueError(
                        f"etf_mode='task_axis' mixes the logits of >= 2 tasks, got "
                        f'num_vertices={num_vertices}'
                    )
                etf = simplex_etf(num_vertices, num_vertices, seed=etf_seed)
            else:
                if not 2 <= num_vertices <= self.head_dims:
                    raise ValueError(
                        f"etf_mode='feature' needs 2 <= num_vertices <= head width "
                        f'{self.head_dims}, got {num_vertices}'
                    )
                if num_vertices == 2:
                    warnings.warn(
                        "etf_mode='feature' with num_vertices=2: the ETF has rank 1, so the "
                        'normalised projections are +-1 and the retrieve logits degenerate; use '
                        'more vertices',
                        stacklevel=2,
                    )
                etf = simplex_etf(self.head_dims, num_vertices, seed=etf_seed)
                if feature_scale is None:
                    self.log_feature_scale = nn.Parameter(
                        torch.tensor(0.5 * math.log(self.head_dims))
                    )
            self.num_vertices = num_vertices
            self.register_buffer('etf', etf, persistent=True)
        self.feature_scale = feature_scale

    # ------------------------------------------------------------------ shared small pieces
    def _heads(self, x: Tensor) -> Tensor:
        """(..., N, C) -> (..., H, N, d_h)."""
        return x.unflatten(-1, (self.num_heads, self.head_dims)).transpose(-3, -2)

    def _merge_heads(self, x: Tensor) -> Tensor:
        """(..., H, N, d_h) -> (..., N, C)."""
        return x.transpose(-3, -2).flatten(-2)

    def _logit_scale(self):
        if self.feature_scale is not None:
            return self.feature_scale
        return self.log_feature_scale.exp()

    def _effective_topk(self, num_tokens: int) -> int:
        if self.topk > num_tokens:
            warnings.warn(
                f'KEM topk={self.topk} exceeds the {num_tokens} tokens; clipped to {num_tokens}',
                stacklevel=3,
            )
            return num_tokens
        return self.topk

    def _check_tokens(self, tokens: Sequence[Tensor]) -> None:
        check_tokens(tokens, self.embed_dims)
        if self.etf_mode == 'task_axis':
            lengths = {tok.shape[1] for tok in tokens}
            if len(tokens) != self.num_vertices or len(lengths) != 1:
                raise ValueError(
                    f"etf_mode='task_axis' needs {self.num_vertices} token segments of equal "
                    f'length, got lengths {[tok.shape[1] for tok in tokens]}'
                )

    # ------------------------------------------------------------------ forward
    def forward(
        self, tokens: Sequence[Tensor], return_attention: bool = False
    ) -> Tuple[List[Tensor], Optional[Dict[str, Tensor]]]:
        """Run Retrieve, Write and Broadcast over the concatenation of ``tokens``.

        Args:
            tokens (Sequence[Tensor]): Token segments ``(B, N_i, C)``; may be channel-first views
                (``feat.flatten(2).mT``), whose layout the fast form keeps.
            return_attention (bool): Also return the attention maps. Defaults to False.

        Returns:
            tuple: ``outs``, a list of ``(B, N_i, C)`` tensors, and ``attn`` (None unless
            ``return_attention``): ``attn['retrieve']`` ``(B, H, L, n_s)`` (the topk-softmax
            weights ``P``) and ``attn['write']`` ``(B, H, n_s, L)``.
        """
        self._check_tokens(tokens)
        if self.impl == 'plain':
            return self._forward_plain(tokens, return_attention)
        # The folded form runs in the parameters' precision: under autocast its hand-written
        # backward would meet mixed dtypes, and it is cheap enough not to need half precision.
        dtype = self.memory.dtype
        tokens = [tok if tok.dtype == dtype else tok.to(dtype) for tok in tokens]
        with torch.autocast(device_type=tokens[0].device.type, enabled=False):
            return self._forward_fast(tokens, return_attention)

    # ------------------------------------------------------------------ plain form (eqs. as read)
    def _retrieve_logits_plain(self, tokens_n: Tensor, num_segments: int) -> Tensor:
        q = self._heads(self.q_r(self.memory))  # (H, L, dh)
        k = self._heads(self.k_r(tokens_n))  # (B, H, N, dh)
        if self.etf_mode == 'feature':
            q = F.normalize(q @ self.etf, dim=-1)
            k = F.normalize(k @ self.etf, dim=-1)
            return self._logit_scale() * q @ k.mT
        logits = q @ k.mT * self.scale  # (B, H, L, N)
        if self.etf_mode == 'task_axis':
            b, h, slots, n_s = logits.shape
            per_task = logits.reshape(b, h, slots, num_segments, n_s // num_segments)
            logits = torch.einsum('it,bhltm->bhlim', self.etf, per_task).reshape(b, h, slots, n_s)
        return logits

    def _forward_plain(self, tokens, return_attention):
        x = torch.cat(list(tokens), dim=1)
        xn = self.norm_tokens(x)
        # under autocast the logits come in half precision, where the top-k would choose among
        # many ties: both softmaxes and the top-k run in at least float32
        logits = _at_least_float32(self._retrieve_logits_plain(xn, len(tokens)))
        k = self._effective_topk(x.shape[1])
        keep = torch.zeros_like(logits, dtype=torch.bool)
        keep.scatter_(-1, logits.topk(k, dim=-1).indices, True)
        if self.topk_mode == 'mask_logits':
            retrieve = logits.masked_fill(~keep, float('-inf')).softmax(-1)
        else:
            retrieve = logits.softmax(-1) * keep
        values = self._heads(self.v_r(xn))
        memory = self._merge_heads(retrieve.to(values.dtype) @ values)  # (B, L, C)
        memory_n = self.norm_memory(memory)
        q = self._heads(self.q_w(xn))
        write = _at_least_float32(q @ self._heads(self.k_w(memory_n)).mT * self.scale).softmax(-1)
        values = self._heads(self.v_w(memory_n))
        update = self._merge_heads(write.to(values.dtype) @ values)  # (B, N, C)
        out = x + self.residual_weight * update
        outs = list(out.split([tok.shape[1] for tok in tokens], dim=1))
        attn = dict(retrieve=retrieve, write=write) if return_attention else None
        return outs, attn

    # ------------------------------------------------------------------ fast form
    def _retrieve_logits_fast(self, tokens, stats) -> Tensor:
        """Retrieve logits of all tokens, (B, n_s, H*L), columns head-major."""
        heads, dh = self.num_heads, self.head_dims
        q = self._heads(self.q_r(self.memory))  # (H, L, dh)
        w_k = self.k_r.weight.view(heads, dh, self.embed_dims)
        b_k = self.k_r.bias.view(heads, 1, dh) if self.k_r.bias is not None else None
        if self.etf_mode == 'feature':
            num_v = self.num_vertices
            # norm(LN(F) W_kr W*): fold W_kr^T W* (C x K per head) into one token matmul
            fold = (self.etf.T @ w_k).reshape(heads * num_v, self.embed_dims)
            q_etf = F.normalize(q @ self.etf, dim=-1) * self._logit_scale()  # (H, L, K)
            logits = []
            for tok, (mean, rstd) in zip(tokens, stats):
                k_etf = normed_matmul(tok, mean, rstd, self.norm_tokens, fold)
                if b_k is not None:
                    k_etf = k_etf + (b_k @ self.etf).reshape(heads * num_v)
                k_etf = F.normalize(k_etf.unflatten(-1, (heads, num_v)), dim=-1)
                logits.append(torch.einsum('bnhk,hlk->bnhl', k_etf, q_etf).flatten(-2))
            return torch.cat(logits, dim=1)
        # (R W_qr)(LN(F) W_kr)^T = LN(F) (q W_k)^T + q . b_k: an (H*L, C) matrix per forward
        fold = (q @ w_k).reshape(heads * self.num_slots, self.embed_dims) * self.scale
        logits = [
            normed_matmul(tok, m, r, self.norm_tokens, fold) for tok, (m, r) in zip(tokens, stats)
        ]
        if b_k is not None:
            const = ((q * b_k).sum(-1) * self.scale).reshape(-1)  # (H*L,)
            logits = [lg + const for lg in logits]
        if self.etf_mode == 'task_axis':
            mixed = torch.einsum('it,btmj->bimj', self.etf, torch.stack(logits, dim=1))
            return mixed.flatten(1, 2)
        return torch.cat(logits, dim=1)

    def _selected_retrieve_logits(self, rows, selected, segment, stats_eps) -> Tensor:
        """The retrieve logits of the selected (token, column) pairs, recomputed from the gathered
        rows so that their gradient reaches only those rows; (B, R) for ``R = k * H * L``."""
        batch, num_rows = segment.shape
        num_cols = self.num_heads * self.num_slots
        if self.etf_mode == 'task_axis':
            # the mixed logit of segment i at position m needs every segment's logit at m
            stats = [token_stats(r, stats_eps) for r in rows]
            mixed = self._retrieve_logits_fast(rows, stats).view(batch, len(rows), num_rows, -1)
            index = segment.view(batch, 1, num_rows, 1).expand(-1, 1, -1, num_cols)
            logits = mixed.gather(1, index).squeeze(1)  # (B, R, J)
        else:
            logits = self._retrieve_logits_fast([selected], [token_stats(selected, stats_eps)])
        column = torch.arange(num_rows, device=segment.device) % num_cols
        return logits.gather(-1, column.view(1, -1, 1).expand(batch, -1, 1)).squeeze(-1)

    def _forward_fast(self, tokens, return_attention):
        heads, dh, slots = self.num_heads, self.head_dims, self.num_slots
        eps = self.norm_tokens.eps
        stats = [token_stats(tok, eps) for tok in tokens]
        grad_enabled = torch.is_grad_enabled()
        lengths = [tok.shape[1] for tok in tokens]

        # Retrieve (eq. 1 / 7): logits of all tokens, top-k, values of the selected tokens only.
        # Under 'mask_logits' only the k selected logits of each slot get a gradient: the logits
        # of all tokens are computed without autograd and the selected ones again from their
        # gathered rows (a few hundred tokens), so the backward never reads all tokens for them.
        dense_grad = grad_enabled and self.topk_mode == 'mask_probs'
        with torch.set_grad_enabled(dense_grad):
            logits = self._retrieve_logits_fast(tokens, stats)  # (B, n_s, H*L)
        batch, n_s, _ = logits.shape
        k = self._effective_topk(n_s)
        top_logits, top_index = logits.topk(k, dim=1)  # (B, k, H*L)
        index = top_index.flatten(1)  # (B, R), R = k*H*L, positions in the concatenation
        grad_slots = [GradSlot() if grad_enabled and tok.requires_grad else None for tok in tokens]
        if self.etf_mode == 'task_axis':
            position, segment = index % lengths[0], index // lengths[0]
            rows = [gather_rows(tok, position, s) for tok, s in zip(tokens, grad_slots)]
        else:
            segment = torch.zeros_like(index)
            rows, start = [], 0
            for tok, length, s in zip(tokens, lengths, grad_slots):
                rows.append(gather_rows(tok, (index - start).clamp(0, length - 1), s))
                if start:
                    segment += index >= start
                start += length
        selected = rows[0]
        for i in range(1, len(rows)):
            selected = torch.where((segment == i).unsqueeze(-1), rows[i], selected)
        if grad_enabled and not dense_grad:
            top_logits = self._selected_retrieve_logits(rows, selected, segment, eps).view_as(
                top_logits
            )
        if self.topk_mode == 'mask_logits':
            top_weights = top_logits.softmax(dim=1)
        else:
            top_weights = (top_logits - logits.logsumexp(dim=1, keepdim=True)).exp()
        selected = self.norm_tokens(selected).view(batch, k, heads, slots, self.embed_dims)
        weights = top_weights.view(batch, k, heads, slots)
        # R^ = P (LN(F) W_vr)^T: the weights first (sum_k w_k LN(f_k)) W_vr^T, one C x C product
        # per slot instead of one per selected token
        mixed = torch.einsum('bkhl,bkhlc->blhc', weights, selected)
        w_v = self.v_r.weight.view(heads, dh, self.embed_dims)
        memory = torch.einsum('blhc,hdc->blhd', mixed, w_v)
        if self.v_r.bias is not None:
            memory = memory + weights.sum(1).transpose(1, 2).unsqueeze(-1) * self.v_r.bias.view(
                heads, dh
            )
        memory = memory.flatten(-2)  # (B, L, C)

        # Write (eq. 2): fold the slot-side keys into the write-query projection
        memory_n = self.norm_memory(memory)
        key = self.k_w(memory_n).unflatten(-1, (heads, dh))  # (B, L, H, dh)
        value = self.v_w(memory_n).unflatten(-1, (heads, dh))
        w_q = self.q_w.weight.view(heads, dh, self.embed_dims)
        fold = torch.einsum('blhd,hdc->bhlc', key, w_q).flatten(1, 2) * self.scale
        const = None
        if self.q_w.bias is not None:
            const = torch.einsum('blhd,hd->bhl', key, self.q_w.bias.view(heads, dh)).flatten(1)
            const = (const * self.scale).unsqueeze(1)  # (B, 1, H*L)
        # Broadcast (eq. 3): each head's slots write only that head's channels (block diagonal)
        eye = torch.eye(heads, dtype=value.dtype, device=value.device)
        value_blocks = torch.einsum('blhd,hg->bhlgd', value * self.residual_weight, eye)
        value_blocks = value_blocks.reshape(batch, heads * slots, self.embed_dims)

        outs, writes = [], []
        for tok, (mean, rstd), grad_slot in zip(tokens, stats, grad_slots):
            out, write = write_broadcast(
                tok, mean, rstd, self.norm_tokens, fold, const, value_blocks, heads, grad_slot
            )
            outs.append(out)
            writes.append(write)

        attn = None
        if return_attention:
            retrieve = logits.new_zeros(logits.shape).scatter(1, top_index, top_weights)
            attn = dict(
                retrieve=retrieve.unflatten(-1, (heads, slots)).permute(0, 2, 3, 1),
                write=torch.cat(writes, dim=1).unflatten(-1, (heads, slots)).transpose(1, 2),
            )
        return outs, attn
