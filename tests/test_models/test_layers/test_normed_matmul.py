"""The folded ``LayerNorm(x) @ w^T`` against LayerNorm then matmul, values and gradients."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmkem.models.layers import (
    NormedMatmul,
    normed_matmul,
    residual_matmul,
    token_stats,
    tokens_matmul,
)


def make_norm(channels, seed=1):
    norm = nn.LayerNorm(channels).double()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        norm.weight.add_(0.3 * torch.randn(channels, generator=gen, dtype=torch.double))
        norm.bias.add_(0.3 * torch.randn(channels, generator=gen, dtype=torch.double))
    return norm


def make_tokens(channel_first, batch=2, num=7, channels=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    if channel_first:  # the view the interaction modules pass: feat.flatten(2).mT
        return torch.randn(batch, channels, num, generator=gen, dtype=torch.double).mT
    return torch.randn(batch, num, channels, generator=gen, dtype=torch.double)


@pytest.mark.parametrize('channel_first', [False, True])
@pytest.mark.parametrize('per_sample_w', [False, True])
def test_equals_layer_norm_then_matmul_with_gradients(channel_first, per_sample_w):
    norm = make_norm(5)
    x = make_tokens(channel_first).requires_grad_()
    gen = torch.Generator().manual_seed(2)
    w_shape = (2, 3, 5) if per_sample_w else (3, 5)
    w = torch.randn(w_shape, generator=gen, dtype=torch.double).requires_grad_()

    def folded(x, w, gamma, beta):
        mean, rstd = token_stats(x, norm.eps, chunk=2)  # chunked two-pass for channel-first
        return NormedMatmul.apply(x, mean, rstd, w, gamma, beta)

    def plain(x, w, gamma, beta):
        return F.layer_norm(x, (5,), gamma, beta, norm.eps) @ w.mT

    args = (x, w, norm.weight, norm.bias)
    torch.testing.assert_close(folded(*args), plain(*args), atol=1e-12, rtol=1e-10)
    assert torch.autograd.gradcheck(folded, args)
    out_grad = torch.randn(folded(*args).shape, generator=gen, dtype=torch.double)
    grads = torch.autograd.grad(folded(*args), args, out_grad)
    e_grads = torch.autograd.grad(plain(*args), args, out_grad)
    for g, e in zip(grads, e_grads):
        torch.testing.assert_close(g, e, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize('channel_first', [False, True])
def test_token_stats_match_layer_norm(channel_first):
    x = make_tokens(channel_first, channels=9)
    mean, rstd = token_stats(x, 1e-5, chunk=4)
    assert mean.shape == rstd.shape == (2, 7, 1)
    expected = F.layer_norm(x, (9,), eps=1e-5)
    torch.testing.assert_close((x - mean) * rstd, expected, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize('channel_first', [False, True])
def test_matmuls_keep_the_token_layout(channel_first):
    x = make_tokens(channel_first)
    w = torch.randn(3, 5, dtype=torch.double)
    torch.testing.assert_close(tokens_matmul(x, w), x @ w.T)
    a = torch.randn(2, 7, 3, dtype=torch.double)
    v = torch.randn(2, 3, 5, dtype=torch.double)
    out = residual_matmul(x, a, v)
    torch.testing.assert_close(out, x + a @ v)
    assert out.stride() == x.stride()


def test_backward_is_once_differentiable():
    norm = make_norm(5)
    x = make_tokens(True).requires_grad_()
    w = torch.randn(3, 5, dtype=torch.double, requires_grad=True)
    out = normed_matmul(x, *token_stats(x, norm.eps), norm, w)
    (grad,) = torch.autograd.grad(out.square().sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match='once_differentiable'):
        grad.sum().backward()
