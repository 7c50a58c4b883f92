"""The configs/mmseg_kem configs (mmseg's own configs inherited by ``mmseg::`` plus the KEM neck)
build mmseg's EncoderDecoder, and one trains and evaluates with mmseg's ADE20KDataset and IoUMetric
through mmengine's Runner on an ADE20K-layout dataset written here."""

import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.models import EncoderDecoder
from mmseg.registry import MODELS

import mmkem  # noqa: F401
from mmkem.models.necks import KEMMultiLevelNeck
from mmkem.testing import write_ade20k

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'mmseg_kem', '*.py')))
SMALL = 64


def load(config):
    """The config with every download switched off (random weights)."""
    cfg = Config.fromfile(config)
    cfg.model.pretrained = None
    cfg.model.backbone.init_cfg = None
    cfg.model.backbone.pretrained = None
    return cfg


@pytest.mark.parametrize('config', CONFIGS, ids=osp.basename)
def test_config_builds_mmseg_encoder_decoder_with_kem(config):
    cfg = load(config)
    assert cfg.custom_imports.imports == ['mmkem']
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    assert type(model) is EncoderDecoder
    assert isinstance(model.neck, KEMMultiLevelNeck)
    assert model.neck.in_channels == list(cfg.model.decode_head.in_channels)
    model.eval()
    with torch.no_grad():
        feats = model.backbone(torch.randn(1, 3, SMALL, SMALL))
        necked = model.neck(feats)
        logits = model(torch.randn(1, 3, SMALL, SMALL), mode='tensor')
    assert [f.shape for f in necked] == [f.shape for f in feats]
    assert logits.shape == (1, 150, SMALL // 4, SMALL // 4)


def test_upernet_kem_trains_and_evaluates_on_ade20k_layout(tmp_path):
    data_root = str(tmp_path / 'ADEChallengeData2016')
    write_ade20k(data_root)
    cfg = load(osp.join(REPO, 'configs', 'mmseg_kem', 'upernet_r18_kem_4xb4-80k_ade20k-512x512.py'))
    # small model and data: the neck and heads as configured, narrower heads, 64x64 crops
    cfg.model.data_preprocessor.size = (SMALL, SMALL)
    cfg.model.decode_head.channels = 16
    cfg.model.auxiliary_head.channels = 8
    cfg.model.neck.embed_dims = 32
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='RandomCrop', crop_size=(SMALL, SMALL), cat_max_ratio=0.75),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackSegInputs'),
    ]
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(SMALL, SMALL), keep_ratio=True),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='PackSegInputs'),
    ]
    for loader, pipeline in (
        (cfg.train_dataloader, train_pipeline),
        (cfg.val_dataloader, test_pipeline),
    ):
        loader.update(num_workers=0, persistent_workers=False)
        loader.dataset.update(data_root=data_root, pipeline=pipeline)
    cfg.train_dataloader.batch_size = 2
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=3, val_interval=3)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1000, save_last=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.work_dir = str(tmp_path / 'work_dir')

    runner = Runner.from_cfg(cfg)
    assert type(runner.train_dataloader.dataset).__name__ == 'ADE20KDataset'
    assert len(runner.train_dataloader.dataset) == 4
    neck = runner.model.neck
    before = {k: v.detach().clone() for k, v in neck.state_dict().items()}
    runner.train()
    changed = [k for k, v in neck.state_dict().items() if not torch.equal(v, before[k])]
    assert 'mixer.memory' in changed and any(k.startswith('proj_in') for k in changed)

    metrics = runner.val()
    assert set(metrics) >= {'aAcc', 'mIoU', 'mAcc'}
    assert all(np.isfinite(metrics[k]) and 0 <= metrics[k] <= 100 for k in metrics)
    assert type(runner.val_evaluator.metrics[0]).__name__ == 'IoUMetric'
