"""mmkem.evaluation.functional.segmentation against numbers worked out by hand."""

import math

import numpy as np
import pytest

from mmkem.evaluation import functional as F

# 2x3 label maps, 3 classes, one ignored pixel (bottom right):
#   gt   = 0 0 1      pred = 0 1 1
#          1 2 255           1 2 2
# class 0: I=1, pred=1, gt=2 -> IoU 1/2;  class 1: I=2, pred=3, gt=2 -> 2/3;  class 2: I=1, U=1 -> 1
GT_SEG = np.array([[[0, 0, 1], [1, 2, 255]]])
PRED_SEG = np.array([[[0, 1, 1], [1, 2, 2]]])


def test_segmentation_by_hand():
    stats = F.segmentation_stats(PRED_SEG, GT_SEG, num_classes=3)
    np.testing.assert_array_equal(stats['intersect'], [1, 2, 1])
    np.testing.assert_array_equal(
        stats['pred_area'], [1, 3, 1]
    )  # the ignored pixel's 2 is not counted
    np.testing.assert_array_equal(stats['gt_area'], [2, 2, 1])
    scores = F.segmentation_scores(**stats)
    assert scores['mIoU'] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3 * 100)
    assert scores['aAcc'] == pytest.approx(4 / 5 * 100)
    assert scores['mAcc'] == pytest.approx((1 / 2 + 1 + 1) / 3 * 100)


def test_segmentation_absent_class_is_left_out_of_the_mean():
    scores = F.segmentation_scores(**F.segmentation_stats(PRED_SEG, GT_SEG, num_classes=4))
    assert math.isnan(scores['IoU'][3])
    assert scores['mIoU'] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3 * 100)


def test_segmentation_all_ignored_image_adds_nothing():
    stats = F.segmentation_stats(np.ones((1, 2, 3)), np.full((1, 2, 3), 255), num_classes=3)
    for value in stats.values():
        np.testing.assert_array_equal(value, 0)


def test_segmentation_rejects_out_of_range_labels_and_shape_mismatch():
    with pytest.raises(ValueError, match='outside'):
        F.segmentation_stats(PRED_SEG, np.full_like(GT_SEG, 7), num_classes=3)
    with pytest.raises(ValueError, match='shape'):
        F.segmentation_stats(PRED_SEG[:, :1], GT_SEG, num_classes=3)
