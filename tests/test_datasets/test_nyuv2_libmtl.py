"""LibMTLNYUv2Dataset and its loaders on a tiny folder in the MTAN / LibMTL layout, Δp, and a
2-iteration training of the Rep-MTL LibMTL config on it."""

import math
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

import mmkem  # noqa: F401
import mmkem.models.regularizers  # noqa: F401
from mmkem.apis import build_runner
from mmkem.evaluation.metrics.delta_p import delta_p, delta_p_per_task
from mmkem.testing import shrink_train_config, write_libmtl_nyuv2

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
H, W = 24, 32


def build(**kwargs):
    init_default_scope('mmseg')
    return DATASETS.build(dict(type='LibMTLNYUv2Dataset', **kwargs))


def test_data_list_is_sorted_numerically(tmp_path):
    root = str(tmp_path / 'nyuv2')
    write_libmtl_nyuv2(root, num_train=12, num_val=1, size=(H, W))
    dataset = build(data_root=root, split='train')
    assert [d['sample_id'] for d in dataset] == [str(i) for i in range(12)]
    item = dataset.get_data_info(10)
    assert item['img_path'] == osp.join(root, 'train', 'image', '10.npy')
    assert item['semseg_path'] == osp.join(root, 'train', 'label', '10.npy')
    assert item['normals_path'] == osp.join(root, 'train', 'normal', '10.npy')
    assert item['num_classes'] == 13 and len(dataset.metainfo['classes']) == 13


def test_pipeline_decodes_the_release(tmp_path):
    root = str(tmp_path / 'nyuv2')
    arrays = write_libmtl_nyuv2(root, size=(H, W))
    pipeline = [dict(type='LoadImageFromNpy'), dict(type='LoadMultiTaskAnnotations')]
    results = build(data_root=root, split='val', pipeline=pipeline)[1]
    ref = arrays[('val', 1)]
    # BGR uint8, as LoadImageFromFile gives.
    assert results['img'].dtype == np.uint8 and results['img'].shape == (H, W, 3)
    np.testing.assert_array_equal(results['img'], np.rint(ref['image'][..., ::-1] * 255))
    expected_label = np.where(ref['label'] < 0, 255, ref['label']).astype(np.uint8)
    np.testing.assert_array_equal(results['gt_sem_seg'], expected_label)
    np.testing.assert_array_equal(results['gt_depth_map'], ref['depth'][..., 0])
    np.testing.assert_array_equal(results['gt_normals'], ref['normal'])
    assert results['seg_fields'] == ['gt_sem_seg', 'gt_depth_map', 'gt_normals']


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='data_root'):
        build(data_root=str(tmp_path / 'missing'))
    root = str(tmp_path / 'nyuv2')
    write_libmtl_nyuv2(root, size=(H, W))
    with pytest.raises(ValueError, match='subset'):
        build(data_root=root, tasks=('semseg', 'edge'))
    with pytest.raises(FileNotFoundError, match='image'):
        build(data_root=root, split='test')
    os.remove(osp.join(root, 'train', 'depth', '1.npy'))
    with pytest.raises(FileNotFoundError, match='1.npy'):
        build(data_root=root, split='train')
    np.save(osp.join(root, 'val', 'label', '0.npy'), np.full((H, W), 13.0, dtype=np.float32))
    load = [dict(type='LoadImageFromNpy'), dict(type='LoadMultiTaskAnnotations')]
    with pytest.raises(ValueError, match='out of range'):
        build(data_root=root, split='val', pipeline=load)[0]


def test_delta_p_averages_within_tasks_first():
    results = {'semseg/mIoU': 55.0, 'semseg/aAcc': 72.0, 'depth/abs_rel': 0.15,
               'normals/mean': 22.0, 'normals/11.25': 40.0, 'normals/22.5': 60.0}  # fmt: skip
    references = {'semseg/mIoU': 50.0, 'semseg/aAcc': 80.0, 'depth/abs_rel': 0.2,
                  'normals/mean': 20.0, 'normals/11.25': 40.0, 'normals/22.5': 50.0}  # fmt: skip
    # semseg: (+10 - 10) / 2 = 0; depth: +25; normals: (-10 + 0 + 20) / 3 = 10/3.
    per_task = delta_p_per_task(results, references)
    assert per_task == pytest.approx(dict(semseg=0.0, depth=25.0, normals=10 / 3))
    assert delta_p(results, references) == pytest.approx((0 + 25 + 10 / 3) / 3)
    # Metrics without a reference do not count; a direction can be overridden per key.
    assert delta_p({**results, 'depth/rmse': 9.0}, references) == pytest.approx(
        (0 + 25 + 10 / 3) / 3
    )
    flipped = delta_p(results, references, lower_is_better={'depth/abs_rel': False})
    assert flipped == pytest.approx((0 - 25 + 10 / 3) / 3)
    with pytest.raises(KeyError, match='semseg/aAcc'):
        delta_p({'semseg/mIoU': 1.0}, references)
    with pytest.raises(KeyError, match='no direction'):
        delta_p({'x/odd': 1.0}, {'x/odd': 2.0})


def test_rep_mtl_libmtl_config_trains_and_evaluates(tmp_path):
    root = str(tmp_path / 'nyuv2')
    write_libmtl_nyuv2(root, size=(H, W))
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/rep_mtl/hps-rep-mtl_r50-d8_20k_nyuv2-libmtl-288x384.py')
    )
    shrink_train_config(cfg, root, str(tmp_path / 'work'), max_iters=2, batch_size=2)
    # A small ResNet with the same structure keeps the test fast.
    cfg.model.backbone.depth = 18
    cfg.model.feature_adapter.in_channels = [256, 512]
    cfg.model.feature_adapter.channels = 16
    cfg.train_dataloader.dataset.pipeline[2].scale = (W, H)
    cfg.train_dataloader.dataset.pipeline[3].crop_size = (H, W)
    cfg.param_scheduler[0].milestones = [1]
    runner = build_runner(cfg)
    backbone_before = [p.detach().clone() for p in runner.model.backbone.parameters()]
    runner.train()
    logged = runner.message_hub.log_scalars
    for key in ('regularizer.loss_tsr', 'regularizer.loss_csa', 'regularizer.csa'):
        assert math.isfinite(logged[f'train/{key}'].current())
    metrics = runner.val()
    assert {'semseg/mIoU', 'depth/rmse', 'normals/mean'} <= set(metrics)
    assert all(math.isfinite(float(v)) for v in metrics.values())
    assert runner.model.heads['semseg'].conv_out.out_channels == 13
    # The backbone is shared and trained (hard parameter sharing).
    after = list(runner.model.backbone.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, backbone_before))
