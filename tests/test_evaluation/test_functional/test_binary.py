"""mmkem.evaluation.functional.binary (saliency, edges) against counts worked out by hand."""

import numpy as np
import pytest

from mmkem.evaluation import functional as F

# 2x3 label maps, 3 classes, one ignored pixel (bottom right):
#   gt   = 0 0 1      pred = 0 1 1
#          1 2 255           1 2 2
# class 0: I=1, pred=1, gt=2 -> IoU 1/2;  class 1: I=2, pred=3, gt=2 -> 2/3;  class 2: I=1, U=1 -> 1
GT_SEG = np.array([[[0, 0, 1], [1, 2, 255]]])
PRED_SEG = np.array([[[0, 1, 1], [1, 2, 2]]])


PRED_B = np.array([[[0.9, 0.6, 0.3, 0.1, 0.8, 0.99]]])


GT_B = np.array([[[1, 1, 1, 0, 0, 255]]])


THR = (0.25, 0.5, 0.75)


def test_binary_threshold_counts_by_hand():
    stats = F.binary_threshold_stats(PRED_B, GT_B, THR)
    np.testing.assert_array_equal(stats['tp'], [3, 2, 1])
    np.testing.assert_array_equal(stats['fp'], [1, 1, 1])
    np.testing.assert_array_equal(stats['fn'], [0, 1, 2])
    assert stats['num_valid'] == 5
    # a probability equal to the threshold counts as positive
    at = F.binary_threshold_stats(np.array([0.5]), np.array([1]), (0.5,))
    assert at['tp'][0] == 1


def _f(p, r, b2):
    return (1 + b2) * p * r / (b2 * p + r)


def test_saliency_maxf_and_miou_by_hand():
    empty = F.binary_threshold_stats(np.array([[[0.1, 0.2]]]), np.array([[[0, 0]]]), THR)
    stats = [F.binary_threshold_stats(PRED_B, GT_B, THR), empty]
    stacked = {k: np.stack([np.asarray(s[k]) for s in stats]) for k in stats[0]}
    scores = F.saliency_scores(**stacked, beta2=0.3)
    # best dataset-level F_0.3 is at t=0.25: P = 3/4, R = 1 -> 0.975 / 1.225
    assert scores['maxF'] == pytest.approx(_f(0.75, 1.0, 0.3) * 100)
    assert scores['maxF'] == pytest.approx(79.5918, abs=1e-3)
    # per-image IoU at t=0.25: 3/4 and 1 (empty prediction on empty ground truth) -> mean 0.875
    assert scores['mIoU'] == pytest.approx(87.5)


def test_f_measure_undefined_is_zero():
    np.testing.assert_array_equal(F.f_measure([0], [0], [0]), [0.0])
