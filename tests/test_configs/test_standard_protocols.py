"""The standard protocols of the multi-task literature: NYUD-v2 with 4 tasks and PASCAL-Context
with 5, each with KEM, sKEM and cross-attention, train a step and evaluate on data in the exact
release layouts (a tiny Swin in place of Swin-T keeps it fast; the rest is the shipped config)."""

import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

import mmkem  # noqa: F401
from mmkem.apis import build_runner
from mmkem.engine import fill_task_config
from mmkem.testing import shrink_train_config, write_pascal_mt, write_tiny_nyud

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NYUD_TASKS = ['semseg', 'depth', 'normals', 'edge']
PASCAL_TASKS = ['semseg', 'human_parts', 'sal', 'normals', 'edge']
# The loss weights of InvPT / TaskPrompter / MTI-Net (written out here, not read from a config).
NYUD_WEIGHTS = dict(semseg=1.0, depth=1.0, normals=10.0, edge=50.0)
PASCAL_WEIGHTS = dict(semseg=1.0, human_parts=2.0, sal=5.0, normals=10.0, edge=50.0)
INTERACTIONS = dict(kem='KEM', skem='SKEM', ca='TaskCrossAttention')


def config_path(method, dataset):
    folder = dict(kem='kem', skem='skem', ca='baselines')[method]
    name = dict(nyud='nyud-4tasks-448x576', pascal='pascal-5tasks-512x512')[dataset]
    return osp.join(REPO, 'configs', folder, f'{method}_swin-t_40k_{name}.py')


def tiny_swin(cfg):
    """A 4-stage Swin of width 16 instead of Swin-T (random weights), and 32-wide task tokens."""
    cfg.model.backbone.update(
        embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 2, 2, 4], window_size=4, init_cfg=None
    )
    cfg.model.feature_adapter.update(in_channels=[64, 128], channels=32)


@pytest.mark.parametrize('dataset', ['nyud', 'pascal'])
@pytest.mark.parametrize('method', ['kem', 'skem', 'ca'])
def test_config_settings(method, dataset):
    cfg = fill_task_config(Config.fromfile(config_path(method, dataset)))
    tasks, weights = dict(nyud=(NYUD_TASKS, NYUD_WEIGHTS), pascal=(PASCAL_TASKS, PASCAL_WEIGHTS))[
        dataset
    ]
    assert list(cfg.tasks) == tasks
    assert dict(cfg.model.loss_weighting.weights) == weights
    assert cfg.model.interaction.type == INTERACTIONS[method]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert list(cfg[loader].dataset.tasks) == tasks
    # Δm over the tasks with a reference in the metric's own definition: none for normals, edge.
    refs = dict(nyud=dict(semseg=47.96, depth=0.4972))
    refs['pascal'] = dict(semseg=71.17, human_parts=63.90, sal=66.71)
    assert dict(cfg.val_evaluator.references) == refs[dataset]
    assert dict(cfg.test_evaluator.references) == refs[dataset]
    # Edges: the boundary benchmark with the dataset's tolerance, its ground truth (seg2bmap) in
    # the val / test pipelines; 11 thresholds in validation (named so), the benchmark's 101 in test.
    max_dist = dict(nyud=0.011, pascal=0.0075)[dataset]
    assert cfg.val_evaluator.edge_max_dist == cfg.test_evaluator.edge_max_dist == max_dist
    assert cfg.val_evaluator.edge_thresholds == 11
    assert 'edge_thresholds' not in cfg.test_evaluator
    for loader in ('val_dataloader', 'test_dataloader'):
        load = cfg[loader].dataset.pipeline[1]
        assert load.type == 'LoadMultiTaskAnnotations'
        assert dict(load.decoders) == dict(edge='seism_boundaries')
    if dataset == 'pascal':
        assert dict(cfg.val_evaluator.main_metrics) == dict(sal='mIoU')
        # The dataset's defaults are ASTMT's normals mask and edges.
        assert 'normals_mask' not in cfg.train_dataloader.dataset
        assert 'edge_gt' not in cfg.train_dataloader.dataset


def train_and_evaluate(cfg, data_root, work_dir, tasks, crop):
    tiny_swin(cfg)
    shrink_train_config(cfg, data_root, work_dir, max_iters=2, batch_size=2)
    pipeline = cfg.train_dataloader.dataset.pipeline
    pipeline[2].scale = (64, 48)  # small images on CPU; the config's own transforms
    pipeline[3].crop_size = crop
    runner = build_runner(cfg)
    runner.train()
    metrics = runner.val()
    metric = runner.val_evaluator.metrics[0]
    assert list(metric.tasks) == tasks
    assert {f'{t}/{metric.main_metrics[t]}' for t in tasks} <= set(metrics)
    assert {'edge/odsF_t11', 'edge/oisF_t11', 'edge/AP_t11'} <= set(metrics)
    assert 'edge/odsF' not in metrics  # validation never passes a cheap number off as odsF
    assert 'delta_m' in metrics
    assert all(np.isfinite(float(v)) for v in metrics.values())
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))
    assert not any(p.requires_grad for p in runner.model.backbone.parameters())
    return runner, metrics


@pytest.mark.parametrize(
    'method, release', [('kem', 'png'), ('kem', 'jpg'), ('skem', 'jpg'), ('ca', 'png')]
)
def test_nyud_4tasks_trains_and_evaluates(tmp_path, method, release):
    data_root = str(tmp_path / 'NYUDv2')
    write_tiny_nyud(data_root, release, num_train=4, num_val=2, size=(48, 64), seed=1)
    cfg = Config.fromfile(config_path(method, 'nyud'))
    runner, _ = train_and_evaluate(cfg, data_root, str(tmp_path / 'work'), NYUD_TASKS, (32, 48))
    assert set(runner.model.heads) == set(NYUD_TASKS)
    assert type(runner.model.interaction).__name__ == INTERACTIONS[method]


@pytest.mark.parametrize('method', ['kem', 'skem', 'ca'])
def test_pascal_5tasks_trains_and_evaluates(tmp_path, method):
    data_root = str(tmp_path / 'PASCAL_MT')
    write_pascal_mt(data_root, ['t1p', 't2', 't3n', 't4p'], ['v1p', 'v2'], size=(32, 48), seed=2)
    cfg = Config.fromfile(config_path(method, 'pascal'))
    runner, metrics = train_and_evaluate(
        cfg, data_root, str(tmp_path / 'work'), PASCAL_TASKS, (32, 32)
    )
    assert 'sal/maxF' in metrics
    dataset = runner.train_dataloader.dataset
    assert dataset.normals_mask == 'nyud_classes' and dataset.edge_gt == 'thinned_laplacian'
    assert type(runner.model.interaction).__name__ == INTERACTIONS[method]
