"""The edge benchmark tool's parts on small maps (what it measures, not how fast)."""

import numpy as np
import pytest

from mmkem.analysis.edge_benchmark import format_table, run_edge_benchmark, synthetic_edge_pair


def test_synthetic_pair_looks_like_an_edge_detector_output():
    pred, gt = synthetic_edge_pair(60, 80, seed=3, regions=8)
    assert pred.shape == gt.shape == (60, 80) and gt.dtype == bool
    assert 0.01 < gt.mean() < 0.2
    np.testing.assert_allclose(pred * 255, np.rint(pred * 255), atol=1e-3)  # saved as uint8
    assert pred[gt].mean() > pred[~gt].mean() + 0.2


def test_benchmark_rows_and_agreement():
    pytest.importorskip('pyEdgeEval')
    result = run_edge_benchmark(images=2, reference_images=1, processes=1, size=(48, 64))
    ours, theirs = result['rows']
    assert ours['images'] == 2 and theirs['images'] == 1
    assert ours['nyud_val_estimate_s'] == pytest.approx(654 / ours['images_per_s'])
    agreement = result['agreement']
    assert agreement['images'] == 1
    assert agreement['max_abs_diff_points'] < 5  # the same protocol on the same maps
    table = format_table(result)
    assert table.count('\n| ') == 2 and 'pyEdgeEval' in table and 'at most' in table


def test_benchmark_without_reference():
    result = run_edge_benchmark(images=1, processes=1, size=(40, 48), reference=False)
    assert len(result['rows']) == 1 and result['agreement'] is None
    assert 'mmkem' in format_table(result)
