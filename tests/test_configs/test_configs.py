"""Every shipped multi-task config builds, and the paper's NYUD-v2 config trains and evaluates end
to end on a dataset in each release's exact layout."""

import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmkem  # noqa: F401
from mmkem.apis import build_runner
from mmkem.engine import fill_task_config
from mmkem.testing import shrink_train_config, write_tiny_nyud

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    # configs/mmseg_kem/ are plain mmseg models (tests/test_configs/test_mmseg_kem_configs.py);
    # configs/sort_of_clevr/ are reasoning models (tests/test_models/test_reasoning/)
    if '_base_' not in p and 'mmseg_kem' not in p and 'sort_of_clevr' not in p
)


@pytest.mark.parametrize('config', CONFIGS)
def test_config_builds(config):
    cfg = fill_task_config(Config.fromfile(osp.join(REPO, config)))
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    dataset_tasks = cfg.train_dataloader.dataset.tasks
    assert list(model.tasks) == list(dataset_tasks) == list(cfg.val_evaluator.tasks)
    assert set(model.heads) == set(dataset_tasks)
    if model.interaction is not None:
        assert model.interaction.num_tasks == len(dataset_tasks)


@pytest.mark.parametrize('release', ['png', 'jpg'])
def test_kem_swin_nyud_trains_and_evaluates(tmp_path, release):
    data_root = str(tmp_path / 'NYUDv2')
    write_tiny_nyud(data_root, release, num_train=4, num_val=2, size=(96, 128), seed=1, num_real=1)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'kem_swin_nyud.py'))
    cfg.model.backbone.init_cfg = None  # no Swin weights offline: the same architecture, random
    shrink_train_config(cfg, data_root, str(tmp_path / 'work'), max_iters=2, batch_size=2)
    runner = build_runner(cfg)
    runner.train()
    metrics = runner.val()
    assert set(metrics) >= {'semseg/mIoU', 'depth/rmse', 'delta_m'}
    assert all(torch.isfinite(torch.tensor(float(v))) for v in metrics.values())
    # The frozen backbone took no gradient.
    assert osp.isfile(osp.join(cfg.work_dir, 'iter_2.pth'))
    assert not any(p.requires_grad for p in runner.model.backbone.parameters())
