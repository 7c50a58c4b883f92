"""``LayerNorm(x) @ w^T`` on token tensors without building the normalised tokens, and the two
token-wide passes of KEM's fast form written around it.

The fast form of :class:`~mmkem.models.layers.KEMCore` reads every token through a LayerNorm
followed by a matmul with a small ``(J, C)`` matrix (the folded retrieve keys and write queries).
:class:`NormedMatmul` folds the LayerNorm into that matmul through per-token mean and inverse std
(:func:`token_stats`), forward and backward, so no normalised ``(B, N, C)`` copy is stored.
:class:`WriteBroadcast` is KEM's write and broadcast over all tokens in one Function (the folded
write logits, the softmax over the slots and ``x + a @ v``), whose backward writes the token
gradient into one buffer; :class:`GatherRows` gathers the few token rows the memory reads and adds
their gradient into that same buffer (:class:`GradSlot`), so no token-sized zero tensor or sum of
token-sized gradients is ever built.
:func:`tokens_matmul` and :func:`residual_matmul` keep the token tensor's layout (channel-first
views of ``(B, C, N)`` maps are read and written in place).
"""

from typing import Optional, Tuple

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from .tokens import is_channel_first

__all__ = [
    'GatherRows',
    'GradSlot',
    'NormedMatmul',
    'WriteBroadcast',
    'gather_rows',
    'normed_matmul',
    'residual_matmul',
    'token_stats',
    'tokens_matmul',
    'write_broadcast',
]


def _float32_forward(forward):
    """``torch.amp.custom_fwd(cast_inputs=float32)`` for CUDA and CPU autocast: under autocast
    the Function runs in float32 with autocast off (its hand-written backward needs one dtype)."""
    for device_type in ('cuda', 'cpu'):
        forward = torch.amp.custom_fwd(forward, device_type=device_type, cast_inputs=torch.float32)
    return forward


def _float32_backward(backward):
    """The matching ``torch.amp.custom_bwd``: the backward runs in the forward's autocast state."""
    for device_type in ('cuda', 'cpu'):
        backward = torch.amp.custom_bwd(backward, device_type=device_type)
    return backward


def tokens_matmul(x: Tensor, w: Tensor) -> Tensor:
    """``x @ w^T`` for tokens ``x`` (B, N, C) and ``w`` (J, C) or (B, J, C); returns (B, N, J).

    Reads ``x`` in whatever layout it has (no copy of the token tensor): one GEMM per sample with
    the token axis as the long, contiguous dimension, the layout the BLAS runs fastest for these
    skinny products.
    """
    if is_channel_first(x):
        return torch.matmul(w, x.mT).mT
    return torch.matmul(x, w.mT)


def residual_matmul(x: Tensor, a: Tensor, v: Tensor) -> Tensor:
    """``x + a @ v`` for ``x`` (B, N, C), ``a`` (B, N, J), ``v`` (B, J, C), in ``x``'s layout."""
    if is_channel_first(x):
        return torch.baddbmm(x.mT, v.mT, a.mT).mT
    return torch.baddbmm(x, a, v)


def token_stats(x: Tensor, eps: float, chunk: int = 16) -> Tuple[Tensor, Tensor]:
    """Per-token mean and inverse std over channels, as LayerNorm computes them; (B, N, 1) each.

    For channel-first views the variance is accumulated over blocks of ``chunk`` channels
    (two-pass, exact): a reduction across the strided channel axis in one call is several times
    slower than a copy of the tensor on CPU, and squaring the whole tensor would allocate its size.
    """
    with torch.no_grad():
        if not is_channel_first(x):
            var, mean = torch.var_mean(x, dim=-1, keepdim=True, correction=0)
            return mean, torch.rsqrt(var + eps)
        x_cf = x.mT  # (B, C, N), contiguous
        mean = x_cf.mean(1, keepdim=True)
        sq_sum = None
        for block in x_cf.split(chunk, dim=1):
            part = (block - mean).square_().sum(1, keepdim=True)
            sq_sum = part if sq_sum is None else sq_sum.add_(part)
        rstd = torch.rsqrt(sq_sum / x_cf.shape[1] + eps)
        return mean.mT, rstd.mT


def _folded_logits(x, mean, rstd, w, gamma, beta):
    """``(LN(x) @ w^T, xhat @ (g*w)^T)``: the folded LayerNorm matmul and its normalised part."""
    wg = w * gamma
    xhat_w = rstd * (tokens_matmul(x, wg) - mean * wg.sum(-1).unsqueeze(-2))  # xhat @ wg^T
    return xhat_w + (w @ beta).unsqueeze(-2), xhat_w


def _folded_backward(ctx_needs, x, mean, rstd, w, gamma, beta, xhat_w, grad, residual=None):
    """The gradients of :func:`_folded_logits` for the logits' gradient ``grad`` (B, N, J).

    ``ctx_needs`` = (x, w, gamma, beta) flags. ``residual`` (B, N, C), if given, is added to the
    input gradient inside its matmul (the identity path of a residual), in ``x``'s layout.
    """
    need_x, need_params = ctx_needs[0], any(ctx_needs[1:])
    wg = w * gamma
    channels = x.shape[-1]
    grad_x = grad_w = grad_gamma = grad_beta = None
    grad_r = grad * rstd
    if need_x:
        # d xhat = grad @ wg; dx = rstd * (d xhat - mean_c(d xhat) - xhat * mean_c(d xhat xhat))
        #    = (grad * rstd) @ wg + const + coef * x, per-token const and coef; the const rides
        #      on the matmul as one more column of ones, so dx takes two passes over (N, C)
        mean_dxhat = (grad @ wg.sum(-1).unsqueeze(-1)) / channels  # (B, N, 1)
        mean_dxhat_xhat = (grad * xhat_w).sum(-1, keepdim=True) / channels
        coef = -rstd * rstd * mean_dxhat_xhat
        const = -coef * mean - rstd * mean_dxhat
        lhs = torch.cat([grad_r, const], dim=-1)  # (B, N, J + 1)
        rhs = torch.cat([wg, wg.new_ones(wg.shape[:-2] + (1, channels))], dim=-2)
        rhs = rhs.expand(x.shape[0], -1, -1)
        if is_channel_first(x):
            if residual is None:
                grad_x = torch.bmm(rhs.mT, lhs.mT).mT
            else:
                grad_x = torch.baddbmm(residual.mT, rhs.mT, lhs.mT).mT
        elif residual is None:
            grad_x = torch.bmm(lhs, rhs)
        else:
            grad_x = torch.baddbmm(residual, lhs, rhs)
        grad_x.addcmul_(x, coef)
    if need_params:
        # sum_n grad[n, j] xhat[n, c], per sample: (B, J, C)
        grad_wg = torch.matmul(grad_r.mT, x) - (grad_r * mean).sum(1).unsqueeze(-1)
        grad_sum = grad.sum(1)  # (B, J)
        if w.dim() == 2:
            grad_wg, grad_sum = grad_wg.sum(0), grad_sum.sum(0)
        grad_w = grad_wg * gamma + grad_sum.unsqueeze(-1) * beta
        grad_gamma = (grad_wg * w).reshape(-1, channels).sum(0)
        grad_beta = (grad_sum.unsqueeze(-1) * w).reshape(-1, channels).sum(0)
    return grad_x, grad_w, grad_gamma, grad_beta


class NormedMatmul(torch.autograd.Function):
    """``LayerNorm(x) @ w^T`` for tokens ``x`` (B, N, C), without building the normalised tokens.

    ``LN(x) . w = rstd * (x . (g*w) - mean * sum(g*w)) + b . w`` (``g``, ``b``: the LayerNorm's
    affine parameters); the backward is the LayerNorm gradient written in the same folded form, so
    neither pass allocates more than one ``(B, N, C)`` tensor (the input gradient). ``mean`` and
    ``rstd`` come from :func:`token_stats`; their dependence on ``x`` is part of this backward.
    The backward is once differentiable: second-order gradients (``create_graph=True`` through
    the layer) raise an error; KEM's ``impl='plain'`` avoids this Function for those.
    """

    @staticmethod
    @_float32_forward
    def forward(ctx, x, mean, rstd, w, gamma, beta):
        out, xhat_w = _folded_logits(x, mean, rstd, w, gamma, beta)
        ctx.save_for_backward(x, mean, rstd, w, gamma, beta, xhat_w)
        return out

    @staticmethod
    @_float32_backward
    @once_differentiable
    def backward(ctx, grad):
        x, mean, rstd, w, gamma, beta, xhat_w = ctx.saved_tensors
        needs = (ctx.needs_input_grad[0],) + tuple(ctx.needs_input_grad[3:])
        grads = _folded_backward(needs, x, mean, rstd, w, gamma, beta, xhat_w, grad)
        return grads[0], None, None, *grads[1:]


def normed_matmul(x: Tensor, mean: Tensor, rstd: Tensor, norm: nn.LayerNorm, w: Tensor) -> Tensor:
    """``norm(x) @ w^T`` for tokens ``x`` (B, N, C) and ``w`` (J, C) or (B, J, C) -> (B, N, J).

    ``mean`` and ``rstd`` are :func:`token_stats` of ``x`` with ``norm.eps``.
    """
    return NormedMatmul.apply(x, mean, rstd, w, norm.weight, norm.bias)


class GradSlot:
    """Where :class:`WriteBroadcast`'s backward leaves a token tensor's gradient for
    :class:`GatherRows`'s backward to complete and return.

    Both Functions read the same tokens ``x``. Autograd would sum their gradients of ``x`` (the
    gather's a token-sized zero tensor with a few rows filled): two extra passes over the tokens
    for a few hundred rows. The gathered rows feed the memory, which feeds the write, so the write's
    backward always runs first: it puts its dense gradient here and returns none for ``x``; the
    gather adds its rows in place and returns the sum.
    """

    __slots__ = ('grad',)

    def __init__(self) -> None:
        self.grad: Optional[Tensor] = None


class GatherRows(torch.autograd.Function):
    """``x[b, index[b, r], :]`` for tokens ``x`` (B, N, C), ``index`` (B, R) -> (B, R, C).

    The backward adds the rows' gradient into ``slot.grad`` (the rest of ``x``'s gradient, in
    ``x``'s layout) when a :class:`GradSlot` is given, into zeros otherwise.
    """

    @staticmethod
    def forward(ctx, x, index, slot):
        ctx.save_for_backward(index)
        ctx.slot = slot
        ctx.x_meta = (x.shape, is_channel_first(x), x.dtype, x.device)
        return torch.gather(x, 1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        shape, channel_first, dtype, device = ctx.x_meta
        grad_x = None
        if ctx.slot is not None:
            grad_x, ctx.slot.grad = ctx.slot.grad, None
        if grad_x is None:
            if channel_first:
                grad_x = torch.zeros(shape[0], shape[2], shape[1], dtype=dtype, device=device).mT
            else:
                grad_x = torch.zeros(shape, dtype=dtype, device=device)
        grad_x.scatter_add_(1, index.unsqueeze(-1).expand(-1, -1, shape[-1]), grad)
        return grad_x, None, None


def gather_rows(x: Tensor, index: Tensor, slot: Optional[GradSlot] = None) -> Tensor:
    """Rows ``index`` (B, R) of tokens ``x`` (B, N, C) -> (B, R, C) (:class:`GatherRows`)."""
    return GatherRows.apply(x, index, slot)


class WriteBroadcast(torch.autograd.Function):
    """KEM's write and broadcast over tokens ``x`` (B, N, C): ``x + a @ v`` with
    ``a = softmax_heads(LN(x) @ w^T + c)``, without building the normalised tokens.

    ``w`` (B, J, C) are the folded write queries (``J = H * L`` columns, head-major), ``c``
    (B, 1, J) their bias, ``v`` (B, J, C) the (block-diagonal) slot values; the softmax runs over
    the ``L`` slots of each head. Returns ``(x + a @ v, a)``. The forward makes three passes over
    the tokens (the logits' matmul, the output's ``baddbmm``), the backward four matmul passes and
    one elementwise pass, and writes the input gradient into a single buffer: into ``slot`` (a
    :class:`GradSlot`, completed by :class:`GatherRows`) if given. Once differentiable.
    """

    @staticmethod
    @_float32_forward
    def forward(ctx, x, mean, rstd, w, c, v, gamma, beta, num_heads, slot):
        logits, xhat_w = _folded_logits(x, mean, rstd, w, gamma, beta)
        if c is not None:
            logits = logits + c
        a = logits.unflatten(-1, (num_heads, -1)).softmax(-1).flatten(-2)
        out = residual_matmul(x, a, v)
        ctx.save_for_backward(x, mean, rstd, w, v, gamma, beta, xhat_w, a)
        ctx.num_heads, ctx.slot, ctx.has_c = num_heads, slot, c is not None
        return out, a

    @staticmethod
    @_float32_backward
    @once_differentiable
    def backward(ctx, grad_out, grad_a):
        x, mean, rstd, w, v, gamma, beta, xhat_w, a = ctx.saved_tensors
        need_x, _, _, need_w, need_c, need_v, need_g, need_b = ctx.needs_input_grad[:8]
        grad_v = None
        total_a = grad_a
        if grad_out is not None:
            from_out = tokens_matmul(grad_out, v)  # (B, N, J)
            total_a = from_out if total_a is None else total_a + from_out
            if need_v:
                grad_v = torch.matmul(a.mT, grad_out)  # (B, J, C)
        if total_a is None:
            return (None,) * 10
        heads = ctx.num_heads
        a_h = a.unflatten(-1, (heads, -1))
        ga_h = total_a.unflatten(-1, (heads, -1))
        grad_logits = (a_h * (ga_h - (ga_h * a_h).sum(-1, keepdim=True))).flatten(-2)
        grad_c = grad_logits.sum(1, keepdim=True) if ctx.has_c and need_c else None
        residual = grad_out if need_x else None
        grad_x, grad_w, grad_g, grad_b = _folded_backward(
            (need_x, need_w, need_g, need_b), x, mean, rstd, w, gamma, beta, xhat_w,
            grad_logits, residual=residual,
        )  # fmt: skip
        if need_x and ctx.slot is not None:
            ctx.slot.grad, grad_x = grad_x, None
        return grad_x, None, None, grad_w, grad_c, grad_v, grad_g, grad_b, None, None


def write_broadcast(
    x: Tensor,
    mean: Tensor,
    rstd: Tensor,
    norm: nn.LayerNorm,
    w: Tensor,
    c: Optional[Tensor],
    v: Tensor,
    num_heads: int,
    slot: Optional[GradSlot] = None,
) -> Tuple[Tensor, Tensor]:
    """``(x + a @ v, a)``, ``a = softmax_heads(norm(x) @ w^T + c)`` (:class:`WriteBroadcast`)."""
    return WriteBroadcast.apply(x, mean, rstd, w, c, v, norm.weight, norm.bias, num_heads, slot)
