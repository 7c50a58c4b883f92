"""KEM against the plain reference of eqs. 1-3 computed here from its weights."""

import copy

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import mmkem  # noqa: F401  (registers the modules)
from mmkem.models.interactions import KEM
from mmkem.testing.kem_references import (
    B,
    C,
    assert_all_close,
    make_feats,
    module_call,
    outputs_and_grads,
    perturbed,
    ref_kem,
)


@pytest.mark.parametrize('impl', ['fast', 'plain'])
@pytest.mark.parametrize('topk_mode', ['mask_logits', 'mask_probs'])
@pytest.mark.parametrize('num_heads', [1, 3])
def test_kem_equals_reference(impl, topk_mode, num_heads):
    neck = perturbed(
        KEM(
            C,
            3,
            num_slots=4,
            topk=3,
            num_heads=num_heads,
            topk_mode=topk_mode,
            residual_weight=0.7,
            impl=impl,
        )
    )
    feats = make_feats()
    outs, attn, grads = outputs_and_grads(module_call, neck, feats)
    r_outs, r_attn, r_grads = outputs_and_grads(ref_kem, neck, feats)
    assert_all_close(outs, r_outs)
    assert_all_close([attn['retrieve'], attn['write']], [r_attn['retrieve'], r_attn['write']])
    assert_all_close(grads, r_grads)


def test_topk_clipped_with_warning():
    neck = perturbed(KEM(C, 2, num_slots=3, topk=50))
    feats = make_feats(num_tasks=2, height=2, width=3)  # 12 tokens < 50
    with pytest.warns(UserWarning, match='clipped to 12'):
        outs, attn, grads = outputs_and_grads(module_call, neck, feats)
    r_outs, r_attn, r_grads = outputs_and_grads(ref_kem, neck, feats)
    assert_all_close(outs, r_outs)
    assert_all_close(grads, r_grads)
    # all tokens kept: reading (a) is the plain softmax over the tokens
    assert (attn['retrieve'] > 0).all()


@pytest.mark.parametrize('impl', ['fast', 'plain'])
def test_ties_keep_exactly_k(impl):
    """Identical tokens tie; exactly k are kept per slot and the outputs do not depend on which."""
    neck = perturbed(KEM(C, 2, num_slots=4, topk=3, impl=impl))
    base = torch.randn(B, C, 1, 1, dtype=torch.double)
    feats = [base.expand(B, C, 2, 3).clone(), base.expand(B, C, 2, 3).clone()]  # 12 equal tokens
    outs, attn = neck(feats, return_attention=True)
    nonzero = (attn['retrieve'] > 0).sum(-1)
    assert (nonzero == 3).all()
    torch.testing.assert_close(
        attn['retrieve'].sum(-1), torch.ones_like(nonzero, dtype=torch.double)
    )
    other = copy.deepcopy(neck)
    other.core.impl = 'plain' if impl == 'fast' else 'fast'
    assert_all_close(outs, other(feats))


def test_mask_probs_is_not_renormalised():
    neck = perturbed(KEM(C, 3, num_slots=4, topk=2, topk_mode='mask_probs'))
    feats = make_feats()
    _, attn = neck(feats, return_attention=True)
    retrieve = attn['retrieve']
    assert ((retrieve > 0).sum(-1) == 2).all()
    assert (retrieve.sum(-1) < 1 - 1e-6).all()
    _, ref_attn = ref_kem(neck, feats)
    torch.testing.assert_close(retrieve, ref_attn['retrieve'])


def test_no_ns_by_ns_tensor_and_no_ns_d2_flops():
    """KEM (fast) never builds an n_s x n_s tensor, forward or backward, and its matmul FLOPs
    have no n_s d^2 term: far below the plain form's."""
    from torch.utils.flop_counter import FlopCounterMode

    neck = KEM(8, 2, num_slots=4, topk=3)
    feats = [torch.randn(1, 8, 16, 16, requires_grad=True) for _ in range(2)]
    n_s = 2 * 16 * 16

    class Largest(TorchDispatchMode):
        largest = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in out if isinstance(out, (tuple, list)) else [out]:
                if isinstance(t, torch.Tensor):
                    Largest.largest = max(Largest.largest, t.numel())
            return out

    with Largest():
        outs = neck(feats)
        sum(o.sum() for o in outs).backward()
    assert Largest.largest < n_s * n_s // 8
    assert Largest.largest <= n_s * 8  # nothing bigger than the tokens themselves

    big = [torch.randn(1, 64, 32, 32) for _ in range(2)]
    fast = KEM(64, 2, num_slots=4, topk=3)
    plain = KEM(64, 2, num_slots=4, topk=3, impl='plain')
    counts = []
    for neck in (fast, plain):
        with FlopCounterMode(display=False) as counter:
            neck(big)
        counts.append(counter.get_total_flops())
    n_s, d = 2048, 64
    assert counts[1] >= 2 * 3 * n_s * d * d  # the paper's 3 n_s d^2 projections
    assert counts[0] < counts[1] / 4


def test_second_order_gradients_need_plain():
    feats = make_feats(num_tasks=2)
    fast = perturbed(KEM(C, 2, num_slots=3))
    plain = copy.deepcopy(fast)
    plain.core.impl = 'plain'
    for neck, works in ((plain, True), (fast, False)):
        (grad,) = torch.autograd.grad(
            sum(o.square().sum() for o in neck(feats)), feats[0], create_graph=True
        )
        if works:
            grad.sum().backward()
        else:
            with pytest.raises(RuntimeError, match='once_differentiable'):
                grad.sum().backward()


@pytest.mark.parametrize(
    'kwargs,match',
    [
        (dict(topk=0), 'topk'),
        (dict(num_slots=0), 'num_slots'),
        (dict(num_heads=5), 'num_heads'),
        (dict(topk_mode='soft'), 'topk_mode'),
        (dict(impl='cuda'), 'impl'),
        (dict(num_tasks=0), 'num_tasks'),
    ],
)
def test_kem_argument_errors(kwargs, match):
    args = dict(in_channels=C, num_tasks=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        KEM(**args)
