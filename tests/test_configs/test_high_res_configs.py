"""The high-resolution interaction configs (task interaction on the stride-8 and stride-4 token
grids; docs/models.md): their token grid, their cheaper branches, and that each trains a step and
evaluates on a dataset in its release's exact layout."""

import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmkem  # noqa: F401
from mmkem.apis import build_runner
from mmkem.engine import fill_task_config
from mmkem.testing import shrink_train_config, write_pascal_mt, write_tiny_nyud

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HIGH_RES = sorted(
    osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs', '*', '*_swin-t-s[48]_*.py'))
)
NECKS = {'kem': 'KEM', 'skem': 'SKEM', 'ca': 'TaskCrossAttention'}


def stride_of(config):
    return 8 if '-s8_' in config else 4


def test_every_high_resolution_setting_has_kem_skem_and_ca():
    settings = {osp.basename(c).split('_swin-t-')[1] for c in HIGH_RES}
    assert settings == {
        's8_40k_nyud-448x576.py', 's8_40k_nyud-4task-448x576.py', 's8_40k_pascal-512x512.py',
        's4_40k_nyud-448x576.py', 's4_40k_pascal-512x512.py',
    }  # fmt: skip
    assert len(HIGH_RES) == 3 * len(settings)


def build(config):
    cfg = fill_task_config(Config.fromfile(osp.join(REPO, config)))
    init_default_scope(cfg.default_scope)
    cfg.model.backbone.init_cfg = None
    return cfg, MODELS.build(cfg.model)


@pytest.mark.parametrize('config', HIGH_RES)
def test_interaction_runs_on_the_fine_grid_and_branches_attend_on_stride_16(config):
    cfg, model = build(config)
    stride = stride_of(config)
    assert type(model.interaction).__name__ == NECKS[osp.basename(config).split('_')[0]]
    model.eval()
    with torch.no_grad():
        shared = model.extract_feat(torch.zeros(1, 3, 64, 96))
    assert shared.shape == (1, 256, 64 // stride, 96 // stride)
    # the ViT encoders and decoders attend on the stride-16 grid: pooled by stride 16 / stride
    for branches in (model.task_encoders, model.task_decoders):
        assert {b.downsample for b in branches.values()} == {16 // stride}
    assert model.feature_adapter.project_first
    expected_tasks = {
        'nyud-448x576': ['semseg', 'depth'],
        'nyud-4task-448x576': ['semseg', 'depth', 'normals', 'edge'],
        'pascal-512x512': ['semseg', 'human_parts', 'sal'],
    }[osp.splitext(config)[0].split('_40k_')[1]]
    assert list(model.tasks) == expected_tasks == list(cfg.val_evaluator.tasks)
    if len(expected_tasks) == 4:
        assert cfg.model.loss_weighting.weights == dict(
            semseg=1.0, depth=1.0, normals=10.0, edge=50.0
        )


@pytest.mark.parametrize('config', HIGH_RES)
def test_high_resolution_config_trains_and_evaluates(tmp_path, config):
    pascal = 'pascal' in config
    data_root = str(tmp_path / ('PASCAL_MT' if pascal else 'NYUDv2'))
    if pascal:
        write_pascal_mt(data_root, ['t1p', 't2'], ['v1p'], size=(48, 64), seed=2)
    else:
        release = 'jpg' if '4task' in config else 'png'
        write_tiny_nyud(data_root, release, num_train=2, num_val=1, size=(48, 64), seed=1)
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.model.backbone.init_cfg = None  # no Swin weights offline: the same architecture, random
    shrink_train_config(cfg, data_root, str(tmp_path / 'work'), max_iters=1, batch_size=2)
    pipeline = cfg.train_dataloader.dataset.pipeline
    pipeline[2].scale = (64, 48)  # small images on CPU; the same transforms as the release's
    pipeline[3].crop_size = (48, 64)
    cfg.default_hooks.checkpoint.update(interval=-1, save_last=False, save_best=None)
    runner = build_runner(cfg)
    runner.train()
    metrics = runner.val()
    assert 'delta_m' in metrics and {f'{t}/' for t in cfg.tasks} <= {
        key.split('/')[0] + '/' for key in metrics
    }
    assert all(np.isfinite(float(v)) for v in metrics.values())
    assert not any(p.requires_grad for p in runner.model.backbone.parameters())
