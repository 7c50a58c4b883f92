"""TaskCrossAttention (eq. 4) against the plain reference computed here from its weights."""

import pytest
import torch

import mmkem  # noqa: F401  (registers the modules)
from mmkem.models.interactions import TaskCrossAttention
from mmkem.testing.kem_references import (
    C,
    assert_all_close,
    make_feats,
    module_call,
    outputs_and_grads,
    perturbed,
    ref_cross_attention,
)


@pytest.mark.parametrize('num_heads', [1, 4])
def test_cross_attention_equals_reference(num_heads):
    neck = perturbed(TaskCrossAttention(C, 3, num_heads=num_heads, residual_weight=0.5))
    feats = make_feats()
    outs, attn, grads = outputs_and_grads(module_call, neck, feats)
    r_outs, r_attn, r_grads = outputs_and_grads(ref_cross_attention, neck, feats)
    assert_all_close(outs, r_outs)
    assert_all_close([attn['attention']], [r_attn['attention']])
    assert_all_close(grads, r_grads)
    # the SDPA path (no attention returned) gives the same outputs and input gradients
    sdpa_outs = neck(feats)
    r_outs, _ = ref_cross_attention(neck, feats)
    assert_all_close(sdpa_outs, r_outs)
    gen = torch.Generator().manual_seed(3)
    weights = [torch.randn(o.shape, generator=gen, dtype=o.dtype) for o in outs]
    g_sdpa = torch.autograd.grad(sum((o * w).sum() for o, w in zip(sdpa_outs, weights)), feats)
    g_ref = torch.autograd.grad(sum((o * w).sum() for o, w in zip(r_outs, weights)), feats)
    assert_all_close(g_sdpa, g_ref)


def test_cross_attention_argument_errors():
    with pytest.raises(ValueError, match='num_heads'):
        TaskCrossAttention(C, 2, num_heads=5)


def test_checkpoint_from_before_the_core_split_loads():
    """Old checkpoints hold ``norm.*`` / ``qkv.*``; they load into ``core.norm`` / ``core.qkv``."""
    neck = perturbed(TaskCrossAttention(C, 2, num_heads=2)).float()
    legacy = {k.replace('core.', '', 1): v for k, v in neck.state_dict().items()}
    assert sorted(legacy) == ['norm.bias', 'norm.weight', 'qkv.bias', 'qkv.weight']
    torch.manual_seed(5)
    other = TaskCrossAttention(C, 2, num_heads=2)
    other.load_state_dict(legacy)  # strict
    for key, value in neck.state_dict().items():
        assert torch.equal(other.state_dict()[key], value), key
    # nested (as in a segmentor's ``neck.``), through mmengine's loader too
    from mmengine.runner.checkpoint import load_state_dict

    parent = torch.nn.ModuleDict(dict(neck=TaskCrossAttention(C, 2, num_heads=2)))
    load_state_dict(parent, {f'neck.{k}': v for k, v in legacy.items()}, strict=True)
    for key, value in neck.state_dict().items():
        assert torch.equal(parent['neck'].state_dict()[key], value), key
