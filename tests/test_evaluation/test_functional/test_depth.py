"""mmkem.evaluation.functional.depth against numbers worked out by hand (see the comments)."""

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


DEPTH_A = (np.array([[[1.5, 2.0], [3.0, 3.0]]]), np.array([[[1.0, 2.0], [0.0, 4.0]]]))


DEPTH_B = (np.array([[[2.0, 2.0], [2.0, 4.0]]]), np.full((1, 2, 2), 2.0))


def _depth_stacked():
    stats = [F.depth_stats(*DEPTH_A), F.depth_stats(*DEPTH_B)]
    return {k: [s[k] for s in stats] for k in stats[0]}


def test_depth_stats_by_hand():
    stats = F.depth_stats(*DEPTH_A)
    assert stats['num_valid'] == 3
    assert stats['sq_err'] == pytest.approx(1.25)
    assert stats['abs_rel'] == pytest.approx(0.5 / 1 + 0 + 1 / 4)
    assert stats['log_sq_err'] == pytest.approx(math.log(1.5) ** 2 + math.log(3 / 4) ** 2)


def test_depth_pooled_and_per_image_differ_as_computed_by_hand():
    pooled = F.depth_scores(**_depth_stacked(), mode='pooled')
    per_image = F.depth_scores(**_depth_stacked(), mode='per_image')
    assert pooled['rmse'] == pytest.approx(math.sqrt((1.25 + 4) / 7))  # 0.8660
    assert per_image['rmse'] == pytest.approx(
        (math.sqrt(1.25 / 3) + math.sqrt(4 / 4)) / 2
    )  # 0.8227
    assert pooled['abs_rel'] == pytest.approx((0.75 + 1.0) / 7)
    assert per_image['abs_rel'] == pytest.approx((0.75 / 3 + 1.0 / 4) / 2)
    with pytest.raises(ValueError, match='pooled'):
        F.depth_scores(**_depth_stacked(), mode='mean')


def test_depth_image_without_valid_pixels_is_skipped_per_image():
    empty = F.depth_stats(np.ones((1, 2, 2)), np.zeros((1, 2, 2)))
    assert empty['num_valid'] == 0 and empty['sq_err'] == 0
    stats = [F.depth_stats(*DEPTH_A), empty]
    stacked = {k: [s[k] for s in stats] for k in stats[0]}
    assert F.depth_scores(**stacked, mode='per_image')['rmse'] == pytest.approx(math.sqrt(1.25 / 3))
