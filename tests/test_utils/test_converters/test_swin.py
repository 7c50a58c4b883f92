"""Converted timm / official Swin weights give mmseg's SwinTransformer the same stage outputs.

Layers that are compared through a reference instead of directly: mmseg adds a LayerNorm per
output stage (``norm0`` .. ``norm3``). Classification checkpoints only have the final ``norm``
(on the last stage), which the converter maps to ``norm3``; ``norm0`` .. ``norm2`` have no source
and keep their init, so stages 0..2 are compared with timm's un-normalised stage output passed
through those mmseg norms (a plain ``F.layer_norm`` in the test).

The input is 448 x 448 so that every stage (112, 56, 28, 14 tokens a side) is larger than the
7 x 7 window: where a stage is no larger than the window (the last stage at 224 x 224), timm and
the official code turn the shift off, while mmseg keeps shifting with a mask, so that stage
differs whatever the weights.
"""

import re

import pytest
import torch
import torch.nn.functional as F

timm = pytest.importorskip('timm')
pytest.importorskip('mmseg.models')

from mmengine.registry import init_default_scope  # noqa: E402
from mmseg.registry import MODELS  # noqa: E402

import mmkem  # noqa: E402, F401
from mmkem.utils.converters.swin import convert_swin_to_mmseg, detect_swin_format  # noqa: E402

EMBED, DEPTHS, HEADS, WINDOW, IMG = 32, (2, 2, 2, 2), (1, 2, 4, 8), 7, 448


@pytest.fixture(scope='module')
def timm_swin():
    torch.manual_seed(0)
    model = timm.create_model(
        'swin_tiny_patch4_window7_224',
        pretrained=False,
        embed_dim=EMBED,
        depths=DEPTHS,
        num_heads=HEADS,
        window_size=WINDOW,
        img_size=IMG,
    ).eval()
    # perturb every parameter (LayerNorms included) so that a misplaced tensor changes the output
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.1 * torch.randn_like(param))
    return model


def build_mmseg_swin(**kwargs):
    """mmseg's SwinTransformer of the test's size; ``kwargs`` add to its config."""
    init_default_scope('mmseg')
    model = MODELS.build(
        dict(
            type='SwinTransformer',
            pretrain_img_size=IMG,
            embed_dims=EMBED,
            depths=DEPTHS,
            num_heads=HEADS,
            window_size=WINDOW,
            mlp_ratio=4,
            qkv_bias=True,
            drop_path_rate=0.0,
            out_indices=(0, 1, 2, 3),
            **kwargs,
        )
    )
    model.eval()  # mmseg's SwinTransformer.train() returns None: no chaining
    return model


def timm_to_official_by_hand(state_dict):
    """The official release's layout, written independently of the converter's own inverse."""
    out = {}
    for key, value in state_dict.items():
        match = re.match(r'layers\.(\d+)\.downsample\.(.*)', key)
        if match:
            key = f'layers.{int(match.group(1)) - 1}.downsample.{match.group(2)}'
        key = key.replace('head.fc.', 'head.')
        out[key] = value
    # buffers the official checkpoints carry and the converter must drop
    for stage, depth in enumerate(DEPTHS):
        for block in range(depth):
            prefix = f'layers.{stage}.blocks.{block}'
            out[f'{prefix}.attn.relative_position_index'] = torch.zeros(49, 49, dtype=torch.long)
            if block % 2:
                out[f'{prefix}.attn_mask'] = torch.zeros(4, 49, 49)
    return out


def expected_missing(model):
    """Keys the classification checkpoint cannot provide (see module docstring)."""
    return {
        k
        for k in model.state_dict()
        if re.match(r'norm[0-2]\.', k) or 'relative_position_index' in k
    }


def assert_same_stages(timm_model, mmseg_model):
    x = torch.randn(1, 3, IMG, IMG, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        final, stages = timm_model.forward_intermediates(x, norm=True)
        outs = mmseg_model(x)
    assert len(outs) == 4
    for i, (ref, out) in enumerate(zip(stages, outs)):
        assert out.shape == (1, EMBED * 2**i, IMG // 4 // 2**i, IMG // 4 // 2**i)
        if i < 3:  # timm's stage output is un-normalised; mmseg applies its fresh norm_i
            norm = getattr(mmseg_model, f'norm{i}')
            ref = F.layer_norm(
                ref.permute(0, 2, 3, 1), norm.normalized_shape, norm.weight, norm.bias
            )
            ref = ref.permute(0, 3, 1, 2)
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    # the last stage also equals timm's forward_features (final norm, NHWC)
    torch.testing.assert_close(outs[3], final.permute(0, 3, 1, 2), atol=1e-5, rtol=1e-5)


def test_timm_swin_converts_to_equal_mmseg_outputs(timm_swin):
    state_dict = timm_swin.state_dict()
    assert detect_swin_format(state_dict) == 'timm'
    converted = convert_swin_to_mmseg(state_dict)
    mmseg_model = build_mmseg_swin()
    result = mmseg_model.load_state_dict(converted, strict=False)
    assert result.unexpected_keys == []
    assert set(result.missing_keys) == expected_missing(mmseg_model)
    assert_same_stages(timm_swin, mmseg_model)


@pytest.mark.parametrize('src_format', ['auto', 'official'])
def test_official_layout_converts_like_timm(timm_swin, src_format):
    official = timm_to_official_by_hand(timm_swin.state_dict())
    assert detect_swin_format(official) == 'official'
    converted = convert_swin_to_mmseg(official, src_format=src_format)
    from_timm = convert_swin_to_mmseg(timm_swin.state_dict(), src_format='timm')
    # the same tensors as from timm's layout, whose stage outputs are checked above
    assert converted.keys() == from_timm.keys()
    for key in converted:
        torch.testing.assert_close(converted[key], from_timm[key], rtol=0, atol=0)


def test_unfold_order_matches_official_patch_merging():
    """mmseg's PatchMerging with converted weights equals Swin's concat-LayerNorm-Linear."""
    init_default_scope('mmseg')
    from mmseg.models.utils.embed import PatchMerging

    torch.manual_seed(0)
    channels, size = 3, 4
    weight = torch.randn(2 * channels, 4 * channels)
    norm_w, norm_b = torch.randn(4 * channels), torch.randn(4 * channels)
    x = torch.randn(1, size, size, channels)
    # official: x0 = (even row, even col), x1 = (odd, even), x2 = (even, odd), x3 = (odd, odd)
    cat = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
    ref = F.linear(F.layer_norm(cat, (4 * channels,), norm_w, norm_b), weight)

    official = {
        'layers.0.downsample.reduction.weight': weight,
        'layers.0.downsample.norm.weight': norm_w,
        'layers.0.downsample.norm.bias': norm_b,
        'layers.1.blocks.0.norm1.weight': torch.ones(2 * channels),
    }
    converted = convert_swin_to_mmseg(official, src_format='official')
    merging = PatchMerging(channels, 2 * channels)
    merging.load_state_dict(
        {
            k[len('stages.0.downsample.') :]: v
            for k, v in converted.items()
            if k.startswith('stages.0.downsample.')
        }
    )
    out, out_size = merging(x.reshape(1, size * size, channels), (size, size))
    assert out_size == (2, 2)
    torch.testing.assert_close(out, ref.reshape(1, 4, 2 * channels), atol=1e-5, rtol=1e-5)


def test_final_norm_can_be_dropped(timm_swin):
    converted = convert_swin_to_mmseg(timm_swin.state_dict(), keep_final_norm=False)
    assert not any(k.startswith('norm') for k in converted)
    kept = convert_swin_to_mmseg(timm_swin.state_dict())
    assert set(kept) - set(converted) == {'norm3.weight', 'norm3.bias'}


def test_converted_file_loads_through_init_cfg(timm_swin, tmp_path):
    """The user path: swin2mmseg's output file as ``init_cfg=dict(type='Pretrained', ...)``."""
    from mmkem.utils.checkpoint_io import save_checkpoint_atomic

    converted = convert_swin_to_mmseg(timm_swin.state_dict())
    path = tmp_path / 'swin_mmseg.pth'
    save_checkpoint_atomic(converted, str(path))
    model = build_mmseg_swin(init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    own = model.state_dict()
    for key, value in converted.items():
        assert torch.equal(own[key], value), key
