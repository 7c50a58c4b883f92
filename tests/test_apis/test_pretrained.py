"""A missing pretrained checkpoint says which weights, how to make them, how to do without."""

import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner.checkpoint import CheckpointLoader

from mmkem.apis import explain_missing_weights
from mmkem.apis.pretrained import missing_pretrained_weights

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SWIN = 'checkpoints/swin_tiny_patch4_window7_224_mmseg.pth'


def test_the_swin_config_names_its_weights_the_converter_and_the_way_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'kem_swin_nyud.py'))
    assert missing_pretrained_weights(cfg.model) == [('model.backbone.init_cfg', SWIN)]
    with pytest.raises(FileNotFoundError) as info, explain_missing_weights(cfg):
        CheckpointLoader.load_checkpoint(SWIN)  # what mmengine's PretrainedInit calls
    message = str(info.value)
    assert f"the pretrained weights '{SWIN}' of model.backbone.init_cfg do not exist" in message
    assert str(tmp_path / SWIN) in message and 'Swin-T (ImageNet-1k' in message
    assert (
        f'python tools/model_converters/swin2mmseg.py swin_tiny_patch4_window7_224.pth {SWIN}'
        in message
    )
    assert '--cfg-options model.backbone.init_cfg=None' in message
    assert 'can not be found' in str(info.value.__cause__)  # mmengine's own message, chained


def test_other_errors_and_present_or_remote_weights_pass(tmp_path):
    (tmp_path / 'w.pth').write_bytes(b'')
    model = dict(
        backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'w.pth'))),
        neck=dict(init_cfg=[dict(type='Pretrained', checkpoint='https://host/w.pth')]),
        head=dict(init_cfg=[dict(type='Normal'), dict(type='Pretrained', checkpoint='x/y.pth')]),
    )
    assert missing_pretrained_weights(model) == [('model.head.init_cfg[1]', 'x/y.pth')]
    cfg = Config(dict(model=model))
    with pytest.raises(FileNotFoundError, match='data_root'), explain_missing_weights(cfg):
        raise FileNotFoundError('data_root data/NYUDv2 does not exist')
    with pytest.raises(FileNotFoundError) as info, explain_missing_weights(cfg):
        raise FileNotFoundError('x/y.pth can not be found.')
    assert 'point the init_cfg at the file you have' in str(info.value)
    assert '--cfg-options model.head.init_cfg=None' in str(info.value)
