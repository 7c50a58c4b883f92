"""KEMCore on token segments: the fast form against the plain one."""

import copy

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmkem  # noqa: F401  (registers the modules)
from mmkem.models.layers import KEMCore
from mmkem.testing.kem_references import (
    B,
    C,
    assert_all_close,
    outputs_and_grads,
    perturbed,
)


@pytest.mark.parametrize('topk_mode', ['mask_logits', 'mask_probs'])
@pytest.mark.parametrize('num_heads', [1, 2, 4])
@pytest.mark.parametrize('etf_mode', [None, 'task_axis', 'feature'])
def test_fast_equals_plain_float32(topk_mode, num_heads, etf_mode):
    kwargs = dict(etf_mode=etf_mode, num_vertices=2 if etf_mode == 'task_axis' else 3)
    fast = KEMCore(
        16,
        num_slots=5,
        topk=4,
        num_heads=num_heads,
        topk_mode=topk_mode,
        **(kwargs if etf_mode else {}),
    )
    plain = copy.deepcopy(fast)
    plain.impl = 'plain'
    gen = torch.Generator().manual_seed(0)
    maps = [torch.randn(2, 16, 5, 6, generator=gen).requires_grad_() for _ in range(2)]

    def run(core, _):
        outs, attn = core([m.flatten(2).mT for m in maps], return_attention=True)
        return outs, attn

    outs, attn, grads = outputs_and_grads(run, fast, maps)
    p_outs, p_attn, p_grads = outputs_and_grads(run, plain, maps)
    assert_all_close(outs, p_outs, atol=1e-5, rtol=1e-5)
    assert_all_close(list(attn.values()), list(p_attn.values()), atol=1e-5, rtol=1e-5)
    for g, p_g in zip(grads, p_grads):  # float32: tolerance relative to each gradient's scale
        torch.testing.assert_close(g, p_g, atol=3e-5 * (1 + p_g.abs().max().item()), rtol=1e-4)
    # the fast form keeps the channel-first layout: outputs are views of (B, C, N) tensors
    assert outs[0].mT.is_contiguous()


def test_row_major_tokens_and_unequal_segments():
    """The core also takes contiguous (B, N, C) tokens of different lengths (e.g. levels)."""
    core = perturbed(KEMCore(C, num_slots=3, topk=5))
    plain = copy.deepcopy(core)
    plain.impl = 'plain'
    gen = torch.Generator().manual_seed(0)
    tokens = [torch.randn(B, n, C, generator=gen, dtype=torch.double) for n in (7, 20, 3)]
    outs, _ = core(tokens)
    p_outs, _ = plain(tokens)
    assert [o.shape for o in outs] == [t.shape for t in tokens]
    assert_all_close(outs, p_outs)


@pytest.mark.parametrize(
    'cfg',
    [
        dict(type='KEMCore', embed_dims=C, num_slots=5, topk=2, num_heads=2),
        dict(type='KEMCore', embed_dims=C, etf_mode='task_axis', num_vertices=3),
        dict(type='KEMCore', embed_dims=C, etf_mode='feature', num_vertices=4, num_heads=2),
    ],
)
def test_built_from_registry_with_the_token_contract(cfg):
    """KEMCore (with sKEM's ETF readings too) is a registered token mixer: list in, list out."""
    init_default_scope('mmseg')
    core = MODELS.build(cfg)
    assert isinstance(core, KEMCore) and core.etf_mode == cfg.get('etf_mode')
    gen = torch.Generator().manual_seed(0)
    tokens = [torch.randn(B, 6, C, generator=gen) for _ in range(3)]
    outs, attn = core(tokens)
    assert attn is None
    assert [o.shape for o in outs] == [t.shape for t in tokens]
    outs, attn = core(tokens, return_attention=True)
    heads, slots = cfg.get('num_heads', 1), cfg.get('num_slots', 20)
    assert attn['retrieve'].shape == (B, heads, slots, 18)
    assert attn['write'].shape == (B, heads, 18, slots)


def _core_pair(etf_mode, topk_mode, num_heads=2):
    kwargs = dict(etf_mode=etf_mode, num_vertices=3 if etf_mode == 'feature' else 2)
    fast = perturbed(
        KEMCore(8, num_slots=3, topk=2, num_heads=num_heads, topk_mode=topk_mode,
                **(kwargs if etf_mode else {}))
    )  # fmt: skip
    plain = copy.deepcopy(fast)
    plain.impl = 'plain'
    return fast, plain


@pytest.mark.parametrize('topk_mode', ['mask_logits', 'mask_probs'])
@pytest.mark.parametrize('etf_mode', [None, 'task_axis', 'feature'])
@pytest.mark.parametrize('loss_on', ['outputs', 'retrieve', 'write'])
def test_fast_gradients_whatever_the_loss_reads(topk_mode, etf_mode, loss_on):
    """The fast form's gradient is assembled from its retrieve rows (GatherRows) and its write
    (WriteBroadcast) in one buffer; it must equal the plain form's whichever of the outputs and
    maps the loss uses (a map alone leaves the other path without a gradient)."""
    fast, plain = _core_pair(etf_mode, topk_mode)
    gen = torch.Generator().manual_seed(5)
    maps = [torch.randn(2, 8, 3, 4, generator=gen, dtype=torch.double).requires_grad_()
            for _ in range(2)]  # fmt: skip

    def grads(core):
        outs, attn = core([m.flatten(2).mT for m in maps], return_attention=True)
        used = dict(outputs=outs, retrieve=[attn['retrieve']], write=[attn['write']])[loss_on]
        g = torch.Generator().manual_seed(6)
        loss = sum((t * torch.randn(t.shape, generator=g, dtype=t.dtype)).sum() for t in used)
        inputs = maps + list(core.parameters())
        out = torch.autograd.grad(loss, inputs, allow_unused=True)
        return [torch.zeros_like(t) if o is None else o for o, t in zip(out, inputs)]

    for got, expected in zip(grads(fast), grads(plain)):
        torch.testing.assert_close(got, expected, atol=1e-10, rtol=1e-8)


@pytest.mark.parametrize('topk_mode', ['mask_logits', 'mask_probs'])
def test_fast_gradients_for_unequal_segments_and_frozen_tokens(topk_mode):
    fast, plain = _core_pair(None, topk_mode, num_heads=1)
    gen = torch.Generator().manual_seed(7)
    tokens = [torch.randn(B, n, 8, generator=gen, dtype=torch.double) for n in (7, 20, 3)]
    tokens[1].requires_grad_()  # the other segments take no gradient (e.g. a frozen level)

    def grads(core):
        outs, _ = core(tokens)
        loss = sum((o.sin()).sum() for o in outs)
        inputs = [tokens[1]] + list(core.parameters())
        return torch.autograd.grad(loss, inputs, allow_unused=True)

    for got, expected in zip(grads(fast), grads(plain)):
        if expected is None:
            assert got is None or not got.any()
        else:
            torch.testing.assert_close(got, expected, atol=1e-10, rtol=1e-8)


def test_plain_form_takes_the_top_k_in_float32_under_autocast():
    """Half-precision retrieve logits tie often; the plain form picks and normalises in float32."""
    core = KEMCore(16, num_slots=4, topk=2, impl='plain')
    tokens = [torch.randn(1, 10, 16) for _ in range(2)]
    with torch.autocast('cpu', dtype=torch.bfloat16):
        outs, attn = core(tokens, return_attention=True)
    assert attn['retrieve'].dtype == attn['write'].dtype == torch.float32
    torch.testing.assert_close(attn['retrieve'].sum(-1), torch.ones(1, 1, 4))
    assert all(torch.isfinite(o).all() for o in outs)
