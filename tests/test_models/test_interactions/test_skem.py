"""SKEM (KEM with the ETF of eqs. 6-7) against the plain reference computed from its weights."""

import pytest
import torch

import mmkem  # noqa: F401  (registers the modules)
from mmkem.models.interactions import SKEM
from mmkem.models.layers import simplex_etf
from mmkem.testing.kem_references import (
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
@pytest.mark.parametrize(
    'etf_kwargs',
    [
        dict(etf_mode='task_axis'),
        dict(etf_mode='feature', num_vertices=4),
        dict(etf_mode='feature', num_vertices=3, feature_scale=2.0),
    ],
)
def test_skem_equals_reference(impl, topk_mode, etf_kwargs):
    neck = perturbed(
        SKEM(C, 3, num_slots=4, topk=2, num_heads=2, topk_mode=topk_mode, impl=impl, **etf_kwargs)
    )
    feats = make_feats()
    outs, attn, grads = outputs_and_grads(module_call, neck, feats)
    r_outs, r_attn, r_grads = outputs_and_grads(ref_kem, neck, feats)
    assert_all_close(outs, r_outs)
    assert_all_close([attn['retrieve'], attn['write']], [r_attn['retrieve'], r_attn['write']])
    assert_all_close(grads, r_grads)


def test_task_axis_removes_common_logit():
    """W* a with a constant across tasks gives zero: the ETF mixing keeps only task contrast."""
    neck = SKEM(C, 3)
    torch.testing.assert_close(neck.core.etf @ torch.ones(3), torch.zeros(3), atol=1e-6, rtol=0)


def test_etf_is_a_seeded_buffer_in_the_state_dict():
    neck = SKEM(C, 3, etf_mode='feature', num_vertices=4, etf_seed=7)
    assert 'core.etf' in neck.state_dict()
    assert all(p is not neck.core.etf for p in neck.parameters())
    assert not neck.core.etf.requires_grad
    torch.testing.assert_close(neck.core.etf, simplex_etf(C, 4, seed=7))
    other = SKEM(C, 3, etf_mode='feature', num_vertices=4, etf_seed=8)
    other.load_state_dict(neck.state_dict())
    torch.testing.assert_close(other.core.etf, neck.core.etf)


def test_skem_argument_errors():
    with pytest.raises(ValueError, match='num_vertices must equal'):
        SKEM(C, 3, num_vertices=4)
    with pytest.raises(ValueError, match='num_vertices'):
        SKEM(C, 3, etf_mode='feature', num_vertices=C + 1)
    with pytest.raises(ValueError, match='etf_mode'):
        SKEM(C, 3, etf_mode='tasks')
    with pytest.raises(ValueError, match='>= 2 tasks'):
        SKEM(C, 1)
    with pytest.warns(UserWarning, match='degenerate'):
        SKEM(C, 2, etf_mode='feature')
