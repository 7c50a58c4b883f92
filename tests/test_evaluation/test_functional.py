"""The plain metric functions against numbers worked out by hand (see the comments)."""

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


# Depth: image A has 3 valid pixels (gt 0 is invalid) with errors 0.5, 0, -1 -> squared sum 1.25;
# image B has 4 valid pixels with errors 0, 0, 0, 2 -> squared sum 4.
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


# Normals, one row of 4 pixels: errors 0 deg (prediction not unit length), 90 deg, 45 deg, invalid.
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


# Saliency / edges: 6 pixels, the last ignored; thresholds 0.25, 0.5, 0.75.
#   t=0.25: tp 3 fp 1 fn 0;  t=0.5: tp 2 fp 1 fn 1;  t=0.75: tp 1 fp 1 fn 2
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


def test_edge_ods_approx_by_hand():
    stats = F.binary_threshold_stats(PRED_B, GT_B, THR)
    scores = F.edge_scores(stats['tp'], stats['fp'], stats['fn'])
    assert scores['odsF_approx'] == pytest.approx(2 * 0.75 / 1.75 * 100)  # F1 at t=0.25


def test_relative_gain_and_delta_m_signs():
    assert F.relative_gain(110, 100, lower_is_better=False) == pytest.approx(10)
    assert F.relative_gain(110, 100, lower_is_better=True) == pytest.approx(-10)
    assert F.relative_gain(0.45, 0.5, lower_is_better=True) == pytest.approx(10)
    assert F.delta_m(
        dict(a=110, b=0.45), dict(a=100, b=0.5), dict(a=False, b=True)
    ) == pytest.approx(10)
    # tasks without a reference do not count
    assert F.delta_m(dict(a=110, c=1.0), dict(a=100), dict(a=False, c=True)) == pytest.approx(10)
    with pytest.raises(KeyError, match='no result'):
        F.delta_m(dict(a=1.0), dict(b=1.0), dict(b=True))
    with pytest.raises(ValueError, match='non-zero'):
        F.relative_gain(1.0, 0.0, lower_is_better=False)


def test_delta_m_of_paper_numbers():
    lower = dict(semseg=False, depth=True, human_parts=False, sal=False)
    nyud_ref = dict(semseg=47.96, depth=0.4972)
    # KEM, Table 2: (49.63-47.96)/47.96 = 3.482 %, (0.4972-0.474)/0.4972 = 4.666 %
    # -> 4.07, not the table's +3.78
    kem = F.delta_m(dict(semseg=49.63, depth=0.474), nyud_ref, lower)
    assert kem == pytest.approx((1.67 / 47.96 + 0.0232 / 0.4972) / 2 * 100)
    assert kem == pytest.approx(4.074, abs=1e-3)
    # MTFormer-T row (50.04 / 0.490): +2.89 against the table's +2.87
    assert F.delta_m(dict(semseg=50.04, depth=0.490), nyud_ref, lower) == pytest.approx(
        2.89, abs=0.01
    )
    # PASCAL KEM 73.60 / 64.94 / 67.82 against 71.17 / 63.90 / 66.71 reproduces the table's +2.24
    pascal = F.delta_m(
        dict(semseg=73.60, human_parts=64.94, sal=67.82),
        dict(semseg=71.17, human_parts=63.90, sal=66.71),
        lower,
    )
    assert pascal == pytest.approx(2.24, abs=0.005)
