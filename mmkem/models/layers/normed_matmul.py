"""``LayerNorm(x) @ w^T`` on token tensors without building the normalised tokens.

The fast form of :class:`~mmkem.models.layers.KEMCore` reads every token through a LayerNorm
followed by a matmul with a small ``(J, C)`` matrix (the folded retrieve keys and write queries).
:class:`NormedMatmul` folds the LayerNorm into that matmul through per-token mean and inverse std
(:func:`token_stats`), forward and backward, so no normalised ``(B, N, C)`` copy is stored.
:func:`tokens_matmul` and :func:`residual_matmul` keep the token tensor's layout (channel-first
views of ``(B, C, N)`` maps are read and written in place).
"""

from typing import Tuple

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from .tokens import is_channel_first

__all__ = ['NormedMatmul', 'normed_matmul', 'token_stats', 'tokens_matmul', 'residual_matmul']


def tokens_matmul(x: Tensor, w: Tensor) -> Tensor:
    """``x @ w^T`` for tokens ``x`` (B, N, C) and ``w`` (J, C) or (B, J, C); returns (B, N, J).

    Reads ``x`` in whatever layout it has (no copy of the token tensor).
    """
    if is_channel_first(x):
        return torch.matmul(w, x.mT).mT
    return torch.matmul(x, w.mT)


def residual_matmul(x: Tensor, a: Tensor, v: Tensor) -> Tensor:
    """``x + a @ v`` for ``x`` (B, N, C), ``a`` (B, N, J), ``v`` (B, J, C), in ``x``'s layout."""
    if is_channel_first(x):
        return torch.baddbmm(x.mT, v.mT, a.mT).mT
    return torch.baddbmm(x, a, v)


def token_stats(x: Tensor, eps: float, chunk: int = 64) -> Tuple[Tensor, Tensor]:
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
    def forward(ctx, x, mean, rstd, w, gamma, beta):
        wg = w * gamma
        xhat_w = rstd * (tokens_matmul(x, wg) - mean * wg.sum(-1).unsqueeze(-2))  # xhat @ wg^T
        ctx.save_for_backward(x, mean, rstd, w, gamma, beta, xhat_w)
        return xhat_w + (w @ beta).unsqueeze(-2)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, mean, rstd, w, gamma, beta, xhat_w = ctx.saved_tensors
        wg = w * gamma
        channels = x.shape[-1]
        grad_x = grad_w = grad_gamma = grad_beta = None
        if ctx.needs_input_grad[0]:
            # d xhat = grad @ wg; dx = rstd * (d xhat - mean_c(d xhat) - xhat * mean_c(d xhat xhat))
            #    = (grad * rstd) @ wg + const + coef * x, per-token const and coef; the const rides
            #      on the matmul as one more column of ones, so dx takes two passes over (N, C)
            mean_dxhat = (grad @ wg.sum(-1).unsqueeze(-1)) / channels  # (B, N, 1)
            mean_dxhat_xhat = (grad * xhat_w).sum(-1, keepdim=True) / channels
            coef = -rstd * rstd * mean_dxhat_xhat
            const = -coef * mean - rstd * mean_dxhat
            lhs = torch.cat([grad * rstd, const], dim=-1)  # (B, N, J + 1)
            rhs = torch.cat([wg, wg.new_ones(wg.shape[:-2] + (1, channels))], dim=-2)
            if is_channel_first(x):
                grad_x = torch.matmul(rhs.mT, lhs.mT).mT
            else:
                grad_x = torch.matmul(lhs, rhs)
            grad_x.addcmul_(x, coef)
        if any(ctx.needs_input_grad[3:]):
            grad_r = grad * rstd
            # sum_n grad[n, j] xhat[n, c], per sample: (B, J, C)
            grad_wg = torch.matmul(grad_r.mT, x) - (grad_r * mean).sum(1).unsqueeze(-1)
            grad_sum = grad.sum(1)  # (B, J)
            if w.dim() == 2:
                grad_wg, grad_sum = grad_wg.sum(0), grad_sum.sum(0)
            grad_w = grad_wg * gamma + grad_sum.unsqueeze(-1) * beta
            grad_gamma = (grad_wg * w).reshape(-1, channels).sum(0)
            grad_beta = (grad_sum.unsqueeze(-1) * w).reshape(-1, channels).sum(0)
        return grad_x, None, None, grad_w, grad_gamma, grad_beta


def normed_matmul(x: Tensor, mean: Tensor, rstd: Tensor, norm: nn.LayerNorm, w: Tensor) -> Tensor:
    """``norm(x) @ w^T`` for tokens ``x`` (B, N, C) and ``w`` (J, C) or (B, J, C) -> (B, N, J).

    ``mean`` and ``rstd`` are :func:`token_stats` of ``x`` with ``norm.eps``.
    """
    return NormedMatmul.apply(x, mean, rstd, w, norm.weight, norm.bias)
