"""The folded ``LayerNorm(x) @ w^T`` against LayerNorm then matmul, values and gradients."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmkem.models.layers import (
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


@pytest.mark.parametrize('channel_first', [False, True])
@pytest.mark.parametrize('heads', [1, 2])
@pytest.mark.parametrize('with_bias', [False, True])
def test_write_broadcast_equals_its_plain_form_with_gradients(channel_first, heads, with_bias):
    norm = make_norm(5)
    x = make_tokens(channel_first).requires_grad_()
    gen = torch.Generator().manual_seed(2)
    w = torch.randn(2, 4, 5, generator=gen, dtype=torch.double).requires_grad_()
    c = torch.randn(2, 1, 4, generator=gen, dtype=torch.double).requires_grad_()
    v = torch.randn(2, 4, 5, generator=gen, dtype=torch.double).requires_grad_()
    c = c if with_bias else None

    def folded(x, w, c, v, gamma, beta):
        mean, rstd = token_stats(x, norm.eps, chunk=2)
        return WriteBroadcast.apply(x, mean, rstd, w, c, v, gamma, beta, heads, None)

    def plain(x, w, c, v, gamma, beta):
        logits = F.layer_norm(x, (5,), gamma, beta, norm.eps) @ w.mT
        if c is not None:
            logits = logits + c
        a = logits.unflatten(-1, (heads, -1)).softmax(-1).flatten(-2)
        return x + a @ v, a

    args = tuple(t for t in (x, w, c, v, norm.weight, norm.bias) if t is not None)

    def wrap(fn):
        def call(*tensors):
            tensors = list(tensors)
            full = [tensors.pop(0), tensors.pop(0), tensors.pop(0) if with_bias else None]
            return fn(*full, *tensors)

        return call

    out, a = wrap(folded)(*args)
    e_out, e_a = wrap(plain)(*args)
    torch.testing.assert_close(out, e_out, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(a, e_a, atol=1e-12, rtol=1e-10)
    assert out.stride() == x.stride()  # the output keeps the token layout
    assert torch.autograd.gradcheck(wrap(folded), args)
    # only one of the two outputs in the loss
    for pick in (0, 1):
        g = torch.autograd.grad(wrap(folded)(*args)[pick].square().sum(), args, allow_unused=True)
        e = torch.autograd.grad(wrap(plain)(*args)[pick].square().sum(), args, allow_unused=True)
        for got, expected, t in zip(g, e, args):
            got = torch.zeros_like(t) if got is None else got
            expected = torch.zeros_like(t) if expected is None else expected
            torch.testing.assert_close(got, expected, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize('channel_first', [False, True])
def test_gather_rows_completes_the_gradient_left_in_its_slot(channel_first):
    """GatherRows adds its rows' gradient to what WriteBroadcast left in the slot and returns the
    sum: the token gradient equals autograd's sum of the two paths, in the token layout."""
    norm = make_norm(5)
    x = make_tokens(channel_first, num=9).requires_grad_()
    gen = torch.Generator().manual_seed(4)
    index = torch.tensor([[0, 3, 3, 8], [1, 1, 2, 5]])
    w = torch.randn(2, 4, 5, generator=gen, dtype=torch.double)
    out_grad = torch.randn(2, 9, 5, generator=gen, dtype=torch.double)

    def run(with_slot):
        slot = GradSlot() if with_slot else None
        rows = gather_rows(x, index, slot)  # the memory: values from the selected rows
        v = rows.square().sum(1, keepdim=True).expand(-1, 4, -1) * 0.1
        mean, rstd = token_stats(x, norm.eps, chunk=2)
        out, _ = write_broadcast(x, mean, rstd, norm, w, None, v, 1, slot)
        (grad,) = torch.autograd.grad((out * out_grad).sum(), x)
        return grad, slot

    grad, slot = run(True)
    expected, _ = run(False)
    torch.testing.assert_close(grad, expected, atol=1e-12, rtol=1e-10)
    assert slot.grad is None  # handed on, not kept
    assert grad.stride() == x.stride()
    # rows only: zeros with the rows added, in the token layout
    (rows_grad,) = torch.autograd.grad(gather_rows(x, index, GradSlot()).sum(), x)
    manual = torch.zeros_like(x)
    for b in range(2):
        for n in index[b].tolist():
            manual[b, n] += 1
    torch.testing.assert_close(rows_grad, manual)


@pytest.mark.parametrize('device_type,dtype', [('cpu', torch.bfloat16), ('cpu', torch.float16)])
def test_folded_functions_run_in_float32_under_autocast(device_type, dtype):
    """Called under autocast with half-precision tokens, the Functions cast to float32 (their
    hand-written backward needs one dtype) and return float32 gradients."""
    norm = nn.LayerNorm(5)
    x = torch.randn(2, 5, 7).mT.requires_grad_()
    w = torch.randn(2, 4, 5, requires_grad=True)
    v = torch.randn(2, 4, 5, requires_grad=True)
    mean, rstd = token_stats(x, norm.eps)
    with torch.autocast(device_type, dtype=dtype):
        logits = normed_matmul(x.to(dtype), mean, rstd, norm, w)
        out, a = write_broadcast(x.to(dtype), mean, rstd, norm, w, None, v, 2)
    assert logits.dtype == out.dtype == a.dtype == torch.float32
    (logits.sum() + out.sum()).backward()
    assert x.grad.dtype == w.grad.dtype == v.grad.dtype == torch.float32
    expected = F.layer_norm(x, (5,), norm.weight, norm.bias, norm.eps) @ w.mT
    torch.testing.assert_close(logits, expected, atol=5e-2, rtol=5e-2)  # inputs rounded to half
