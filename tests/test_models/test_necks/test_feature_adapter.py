"""FeatureAdapter against a plain resize-concatenate-convolve computation."""

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmkem  # noqa: F401

init_default_scope('mmseg')


def test_feature_adapter_matches_resize_concat_conv():
    torch.manual_seed(0)
    adapter = MODELS.build(
        dict(type='FeatureAdapter', in_channels=[4, 6], in_index=[1, 3], out_index=1, channels=5)
    )
    feats = [
        torch.randn(2, 2, 16, 16),
        torch.randn(2, 4, 8, 8),
        torch.randn(2, 9, 4, 4),
        torch.randn(2, 6, 2, 2),
    ]
    out = adapter(feats)
    up = F.interpolate(feats[3], size=(8, 8), mode='bilinear', align_corners=False)
    expected = F.conv2d(torch.cat([feats[1], up], 1), adapter.proj.weight, adapter.proj.bias)
    assert out.shape == (2, 5, 8, 8)
    assert torch.allclose(out, expected, atol=1e-6)
    # default out_index: the last selected level
    coarse = MODELS.build(
        dict(type='FeatureAdapter', in_channels=[4, 6], in_index=[1, 3], channels=5)
    )
    assert coarse(feats).shape == (2, 5, 2, 2)


def test_feature_adapter_errors():
    with pytest.raises(ValueError, match='one channel count per level'):
        MODELS.build(dict(type='FeatureAdapter', in_channels=[4], in_index=[0, 1], channels=5))
    with pytest.raises(ValueError, match='out_index'):
        MODELS.build(
            dict(type='FeatureAdapter', in_channels=[4], in_index=[0], out_index=2, channels=5)
        )
    adapter = MODELS.build(dict(type='FeatureAdapter', in_channels=[4, 5], channels=3))
    # names the option to set, in a form --cfg-options takes
    message = (
        r'the backbone levels \[0, 1\] have \[4, 6\] channels, in_channels says \[4, 5\]: '
        r'set model.feature_adapter.in_channels=\[4,6\]'
    )
    with pytest.raises(ValueError, match=message):
        adapter([torch.randn(1, 4, 4, 4), torch.randn(1, 6, 2, 2)])
    with pytest.raises(ValueError, match='gave 1 levels'):
        adapter(torch.randn(1, 4, 4, 4))


def test_project_first_gives_the_same_map_from_the_same_parameters():
    # a 1x1 convolution and a bilinear resize commute: projecting each level at its own size and
    # summing the resized projections equals resizing, concatenating and projecting
    torch.manual_seed(0)
    cfg = dict(type='FeatureAdapter', in_channels=[3, 4, 6, 5], channels=7, out_index=1)
    plain = MODELS.build(cfg)
    first = MODELS.build(dict(cfg, project_first=True))
    first.load_state_dict(plain.state_dict())
    feats = [
        torch.randn(2, 3, 16, 24),  # finer than the output: resized down
        torch.randn(2, 4, 8, 12),
        torch.randn(2, 6, 4, 6),
        torch.randn(2, 5, 2, 3),
    ]
    expected = plain(feats)
    assert expected.shape == (2, 7, 8, 12)
    assert torch.allclose(first(feats), expected, atol=1e-5)
    # the same gradients of the parameters
    expected.square().sum().backward()
    first(feats).square().sum().backward()
    assert torch.allclose(first.proj.weight.grad, plain.proj.weight.grad, rtol=1e-4, atol=1e-4)
    assert torch.allclose(first.proj.bias.grad, plain.proj.bias.grad, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match=r', 5, 5\] channels, in_channels says'):
        first([feats[0], feats[1], feats[3], feats[3]])
