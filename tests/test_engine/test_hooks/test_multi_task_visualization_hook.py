"""MultiTaskVisualizationHook writes the first panels of each run."""

import os
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import HOOKS
from mmseg.structures import SegDataSample

import mmkem  # noqa: F401  (registers the hook)

init_default_scope('mmseg')


def _outputs(tmp_path, n, start=0):
    outs = []
    for i in range(start, start + n):
        img_path = str(tmp_path / f'img_{i}.jpg')
        cv2.imwrite(img_path, np.full((6, 7, 3), 30 * i, dtype=np.uint8))
        s = SegDataSample(metainfo=dict(img_path=img_path, tasks=['sal']))
        s.gt_sal = PixelData(data=torch.ones(1, 6, 7))
        s.pred_sal = PixelData(data=torch.rand(1, 6, 7))
        outs.append(s)
    return outs


def test_hook_writes_max_samples_panels_per_run(tmp_path):
    hook = HOOKS.build(
        dict(type='MultiTaskVisualizationHook', out_dir=str(tmp_path / 'p'), max_samples=3)
    )
    meta = SimpleNamespace(dataset=SimpleNamespace(metainfo=dict(palette=[[1, 2, 3]])))
    runner = SimpleNamespace(iter=100, rank=0, log_dir=str(tmp_path), val_dataloader=meta)
    hook.before_val_epoch(runner)
    hook.after_val_iter(runner, 0, {}, _outputs(tmp_path, 2))
    hook.after_val_iter(runner, 1, {}, _outputs(tmp_path, 2, start=2))
    files = sorted(os.listdir(tmp_path / 'p' / 'val_iter100'))
    assert files == ['img_0.png', 'img_1.png', 'img_2.png']  # stops after max_samples
    panel = cv2.imread(str(tmp_path / 'p' / 'val_iter100' / 'img_0.png'))
    assert panel.shape == (6 + 24, 3 * 7, 3)
    np.testing.assert_array_equal(panel[24:, 7:14], 255)  # saliency GT all 1: white


def test_hook_skips_disabled_modes_and_checks_arguments(tmp_path):
    hook = HOOKS.build(
        dict(type='MultiTaskVisualizationHook', out_dir=str(tmp_path), on_test=False)
    )
    runner = SimpleNamespace(iter=0, rank=0, log_dir=str(tmp_path))
    hook.before_test_epoch(runner)
    hook.after_test_iter(runner, 0, {}, _outputs(tmp_path, 1))
    assert hook.written == []
    with pytest.raises(ValueError, match='max_samples'):
        HOOKS.build(dict(type='MultiTaskVisualizationHook', max_samples=-1))


def test_hook_with_max_samples_none_paints_every_sample(tmp_path):
    """What ``tools/test.py --show-dir`` configures: every test image, in ``<out_dir>/test``."""
    hook = HOOKS.build(
        dict(type='MultiTaskVisualizationHook', out_dir=str(tmp_path / 'p'), max_samples=None)
    )
    runner = SimpleNamespace(rank=0, log_dir=str(tmp_path))
    hook.before_test_epoch(runner)
    for i in range(3):
        hook.after_test_iter(runner, i, {}, _outputs(tmp_path, 3, start=3 * i))
    assert len(os.listdir(tmp_path / 'p' / 'test')) == 9  # more than the default 8 per run
