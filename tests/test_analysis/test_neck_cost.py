"""mmkem.analysis.neck_cost: the batch, the report's lines and a config without a neck."""

import pytest
import torch
from mmengine.config import Config

from mmkem.analysis.neck_cost import build_models, fake_batch, format_report


def test_fake_batch_is_fixed_and_within_the_classes():
    data = fake_batch(num_classes=5, batch=2, size=16)
    again = fake_batch(num_classes=5, batch=2, size=16)
    assert len(data['inputs']) == 2 and data['inputs'][0].shape == (3, 16, 16)
    assert data['inputs'][0].dtype == torch.uint8 and torch.equal(
        data['inputs'][1], again['inputs'][1]
    )
    label = data['data_samples'][0].gt_sem_seg.data
    assert label.shape == (1, 16, 16) and 0 <= label.min() and label.max() < 5
    assert data['data_samples'][0].metainfo['img_shape'] == (16, 16)


def test_report_lines():
    cfg = Config(dict(model=dict(neck=dict(type='KEMMultiLevelNeck', embed_dims=128))))
    rows = {
        'without neck': dict(params=40e6, mm_flops=3e9, torch_flops=3e9, step=2.0, neck=0.0),
        'with neck': dict(params=41e6, mm_flops=3.5e9, torch_flops=4e9, step=2.5, neck=0.1),
    }
    lines = format_report(cfg, rows, 'c.py', 64, 2, 3, 'cpu')
    assert lines[:2] == ['config: c.py', 'neck: KEMMultiLevelNeck (mixer=kem, embed_dims=128)']
    assert lines[2].startswith('input 64x64; FLOPs for batch 1, train step for batch 2, device cpu')
    assert lines[5].split()[-4:] == ['40.000', '41.000', '1.000', '2.5%']
    assert lines[8].split()[-4:] == ['2.000', '2.500', '0.500', '25.0%']
    # the neck alone: its share of the training step without the neck
    assert lines[9].split()[-4:] == ['0.000', '0.100', '0.100', '5.0%']


def test_a_config_without_neck_is_refused(tmp_path):
    config = tmp_path / 'no_neck.py'
    config.write_text("model = dict(type='EncoderDecoder', neck=None)\n")
    with pytest.raises(ValueError, match='has no model.neck to measure'):
        build_models(str(config), 64)
