"""Panels: the tiles of each task on hand-made samples and the size of the written files."""

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData

from mmkem.visualization import colorize as Cz
from mmkem.visualization import panels as P

PALETTE = [(10, 20, 30), (200, 0, 0), (0, 200, 0)]


def _sample(h=4, w=6):
    """A dict sample as mmengine's evaluator passes it, with semseg and depth."""
    labels = torch.zeros(1, h, w, dtype=torch.long)
    labels[0, :, w // 2 :] = 1
    depth = torch.linspace(0.5, 3.0, h * w).reshape(1, h, w)
    depth[0, 0, 0] = 0
    return dict(
        img_path='/nonexistent/frame_0001.png',
        tasks=['semseg', 'depth'],
        gt_sem_seg=dict(data=labels),
        pred_sem_seg=dict(data=1 - labels),
        gt_depth_map=dict(data=depth),
        pred_depth_map=dict(data=depth + 0.1),
    )


def test_panel_layout_size_and_segmentation_tiles_use_the_palette():
    h, w, th = 4, 6, 10
    image = np.full((h, w, 3), 77, dtype=np.uint8)
    panel = P.render_multitask_panel(
        image, _sample(h, w), palettes=dict(semseg=PALETTE), title_height=th
    )
    assert panel.shape == (2 * (h + th), 3 * w, 3)
    # row 0: image | semseg GT | semseg prediction
    np.testing.assert_array_equal(panel[th : th + h, :w], image)
    gt_tile = panel[th : th + h, w : 2 * w]
    np.testing.assert_array_equal(gt_tile[:, : w // 2], np.broadcast_to(PALETTE[0], (h, w // 2, 3)))
    np.testing.assert_array_equal(gt_tile[:, w // 2 :], np.broadcast_to(PALETTE[1], (h, w // 2, 3)))
    pred_tile = panel[th : th + h, 2 * w :]
    np.testing.assert_array_equal(pred_tile[:, 0], np.broadcast_to(PALETTE[1], (h, 3)))
    # row 1: depth GT has its invalid pixel black
    np.testing.assert_array_equal(panel[2 * th + h, w], [0, 0, 0])


def test_dataset_meta_palette_is_used_and_only_prediction_column():
    sample = _sample()
    sample['tasks'] = ['semseg']
    panel = P.render_multitask_panel(
        None, sample, dataset_meta=dict(palette=PALETTE), draw_gt=False, title_height=8
    )
    assert panel.shape == (8 + 4, 2 * 6, 3)
    np.testing.assert_array_equal(panel[8, 6], PALETTE[1])  # prediction 1 - 0 = 1 on the left half


def test_save_panels_writes_pngs_of_the_expected_size(tmp_path):
    h, w = 4, 6
    sample = _sample(h, w)
    sample['tasks'] = None  # fall back to every task with a field on the sample
    sample['gt_normals'] = PixelData(
        data=torch.nn.functional.normalize(torch.randn(3, h, w), dim=0)
    )
    files = P.save_multitask_panels([sample], str(tmp_path), images=[np.zeros((h, w, 3), np.uint8)])
    assert [f.split('/')[-1] for f in files] == ['frame_0001.png']
    written = cv2.imread(files[0])
    assert written.shape == (3 * (h + 24), 3 * w, 3)  # semseg, depth, normals rows


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match='no task'):
        P.render_multitask_panel(None, dict(tasks=None))
    with pytest.raises(FileNotFoundError, match='nonexistent'):
        P.save_multitask_panels([_sample()], str(tmp_path))
    with pytest.raises(ValueError, match='shape'):
        Cz.colorize_normals(np.zeros((1, 2, 2)))
