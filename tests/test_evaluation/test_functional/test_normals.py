"""mmkem.evaluation.functional.normals against angles worked out by hand."""

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


GT_N = np.array([[0, 0, 1], [0, 0, 1], [0, 1, 0], [0, 0, 0]], dtype=float).T.reshape(3, 1, 4)


PRED_N = np.array([[0, 0, 2], [1, 0, 0], [0, 1, 1], [1, 1, 1]], dtype=float).T.reshape(3, 1, 4)


def test_normals_by_hand():
    stats = F.normals_stats(PRED_N, GT_N)
    assert stats['num_valid'] == 3
    assert stats['angle_sum'] == pytest.approx(135.0)
    np.testing.assert_array_equal(stats['within'], [1, 1, 1])
    scores = F.normals_scores(**{k: [v] for k, v in stats.items()})
    assert scores['mean'] == pytest.approx(45.0)
    assert scores['median'] == pytest.approx(45.0, abs=0.1)  # histogram median: within one bin
    assert scores['rmse'] == pytest.approx(math.sqrt((0 + 90**2 + 45**2) / 3))
    assert scores['11.25'] == pytest.approx(100 / 3)
    assert scores['30'] == pytest.approx(100 / 3)


def test_normals_median_pools_images_and_opposite_vectors_give_180():
    flipped = F.normals_stats(-GT_N, GT_N)  # 3 valid pixels at 180 deg
    stats = [F.normals_stats(PRED_N, GT_N), flipped]
    stacked = {k: np.stack([s[k] for s in stats]) for k in stats[0]}
    scores = F.normals_scores(**stacked)
    # pooled angles: 0, 45, 90, 180, 180, 180 -> mean 112.5, median between 90 and 180
    assert scores['mean'] == pytest.approx(112.5)
    assert 90 <= scores['median'] <= 180.0
