"""The call contract of BaseTaskInteraction, held by KEM, SKEM and TaskCrossAttention."""

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmkem  # noqa: F401  (registers the modules)
from mmkem.models.interactions import KEM, SKEM, TaskCrossAttention
from mmkem.testing.kem_references import B, C, assert_all_close, make_feats


@pytest.mark.parametrize(
    'cfg',
    [
        dict(type='KEM', in_channels=C, num_tasks=3, num_slots=5, topk=2, num_heads=2),
        dict(type='SKEM', in_channels=C, num_tasks=3, num_slots=5),
        dict(type='SKEM', in_channels=C, num_tasks=3, etf_mode='feature', num_vertices=4),
        dict(type='TaskCrossAttention', in_channels=C, num_tasks=3, num_heads=2),
    ],
)
def test_build_from_config_shapes_and_state_dict(cfg):
    init_default_scope('mmseg')
    neck = MODELS.build(cfg)
    feats = [f.detach().float() for f in make_feats(height=5, width=2)]
    outs = neck(feats)
    assert isinstance(outs, list) and len(outs) == 3
    assert all(o.shape == f.shape for o, f in zip(outs, feats))
    outs, attn = neck(feats, return_attention=True)
    n_s, heads = 3 * 5 * 2, cfg.get('num_heads', 1)
    if cfg['type'] == 'TaskCrossAttention':
        assert attn['attention'].shape == (B, heads, n_s, n_s)
    else:
        assert attn['retrieve'].shape == (B, heads, cfg.get('num_slots', 20), n_s)
        assert attn['write'].shape == (B, heads, n_s, cfg.get('num_slots', 20))
    # state-dict round trip into a freshly built (differently initialised) module
    torch.manual_seed(123)
    other = MODELS.build(cfg)
    other.load_state_dict(neck.state_dict())
    assert_all_close(other(feats), neck(feats), atol=0, rtol=0)


@pytest.mark.parametrize('neck', [KEM(C, 2), SKEM(C, 2), TaskCrossAttention(C, 2)])
def test_call_errors(neck):
    good = torch.randn(1, C, 2, 2)
    with pytest.raises(ValueError, match='num_tasks=2'):
        neck([good])
    with pytest.raises(ValueError, match='same shape'):
        neck([good, torch.randn(1, C, 2, 3)])
    with pytest.raises(ValueError, match='C=12'):
        neck([good, torch.randn(1, C + 1, 2, 2)])
    with pytest.raises(ValueError, match='list'):
        neck(good)
