"""MultiTaskLocalVisualizer through the registry and through mmseg's SegVisualizationHook."""

import os.path as osp
from types import SimpleNamespace

import cv2
import numpy as np
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.engine.hooks import SegVisualizationHook
from mmseg.registry import VISUALIZERS
from mmseg.structures import SegDataSample

import mmkem  # noqa: F401  (registers MultiTaskLocalVisualizer)

init_default_scope('mmseg')

PALETTE = [(10, 20, 30), (200, 0, 0), (0, 200, 0)]
H, W = 5, 8


def _sample(img_path='img.png'):
    sample = SegDataSample(metainfo=dict(img_path=img_path, tasks=['semseg', 'depth']))
    labels = torch.zeros(1, H, W, dtype=torch.long)
    labels[:, :, W // 2 :] = 2
    sample.gt_sem_seg = PixelData(data=labels)
    sample.pred_sem_seg = PixelData(data=torch.ones(1, H, W, dtype=torch.long))
    sample.gt_depth_map = PixelData(data=torch.rand(1, H, W) + 0.5)
    sample.pred_depth_map = PixelData(data=torch.rand(1, H, W) + 0.5)
    return sample


def _build(name, tmp_path, **kwargs):
    vis = VISUALIZERS.build(
        dict(
            type='MultiTaskLocalVisualizer',
            name=name,
            save_dir=str(tmp_path),
            vis_backends=[dict(type='LocalVisBackend')],
            **kwargs,
        )
    )
    vis.dataset_meta = dict(classes=('a', 'b', 'c'), palette=PALETTE)
    return vis


def test_add_datasample_writes_out_file_with_palette_colours(tmp_path):
    vis = _build('mt_vis_out_file', tmp_path, title_height=12)
    image = np.full((H, W, 3), 50, dtype=np.uint8)
    out_file = str(tmp_path / 'panels' / 'x.png')
    panel = vis.add_datasample('x', image, _sample(), out_file=out_file)
    assert panel.shape == (2 * (H + 12), 3 * W, 3)
    written = cv2.cvtColor(cv2.imread(out_file), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(written, panel)
    np.testing.assert_array_equal(panel[12, W], PALETTE[0])  # GT left half: class 0
    np.testing.assert_array_equal(panel[12, 2 * W - 1], PALETTE[2])  # GT right half: class 2
    np.testing.assert_array_equal(panel[12, 2 * W], PALETTE[1])  # prediction: class 1


def test_draw_pred_only_and_tasks_argument(tmp_path):
    vis = _build('mt_vis_pred_only', tmp_path, tasks=['depth'])
    panel = vis.add_datasample('y', np.zeros((H, W, 3), np.uint8), _sample(), draw_gt=False)
    assert panel.shape == (H + 24, 2 * W, 3)
    assert osp.isfile(tmp_path / 'vis_data' / 'vis_image' / 'y_0.png')


def test_works_under_mmseg_seg_visualization_hook(tmp_path):
    _build('mt_vis_hook', tmp_path)  # the latest visualizer is the one the hook picks up
    img_path = str(tmp_path / 'frame.png')
    cv2.imwrite(img_path, np.full((H, W, 3), 90, dtype=np.uint8))
    hook = SegVisualizationHook(draw=True, interval=1)
    hook.after_test_iter(SimpleNamespace(iter=3), 0, {}, [_sample(img_path)])
    stored = cv2.imread(str(tmp_path / 'vis_data' / 'vis_image' / 'test_frame.png_3.png'))
    assert stored is not None and stored.shape == (2 * (H + 24), 3 * W, 3)
