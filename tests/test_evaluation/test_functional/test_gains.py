"""mmkem.evaluation.functional.gains: relative gains and Δm, by hand and on the paper's numbers."""

import numpy as np
import pytest

from mmkem.evaluation import functional as F

# 2x3 label maps, 3 classes, one ignored pixel (bottom right):
#   gt   = 0 0 1      pred = 0 1 1
#          1 2 255           1 2 2
# class 0: I=1, pred=1, gt=2 -> IoU 1/2;  class 1: I=2, pred=3, gt=2 -> 2/3;  class 2: I=1, U=1 -> 1
GT_SEG = np.array([[[0, 0, 1], [1, 2, 255]]])
PRED_SEG = np.array([[[0, 1, 1], [1, 2, 2]]])


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
