"""The boundary benchmark: hand-computed cases, plain references, and pyEdgeEval as the oracle.

pyEdgeEval (a test-only requirement, GPL-2.0: never imported by mmkem) ports the BSDS
``correspondPixels`` and Dollar's ``edgesNmsMex`` to Cython; the tests compare with it on
generated maps and state the tolerance (docs/metrics.md gives the measured differences).
"""

import numpy as np
import pytest
from scipy import ndimage as ndi

from mmkem.evaluation import functional as F
from mmkem.evaluation.functional import boundary as B


def _sample(h, w, seed, cell=16):
    """A blocky label map, its boundary, and a blurred, shifted, noisy prediction of it."""
    rng = np.random.default_rng(seed)
    labels = np.kron(rng.integers(0, 4, (h // cell + 1, w // cell + 1)), np.ones((cell, cell)))
    labels = labels[:h, :w]
    gt = F.seg2bmap(labels)
    pred = ndi.gaussian_filter(gt.astype(np.float32), 1.5) * 3
    pred = np.roll(pred, int(rng.integers(-2, 3)), axis=1)
    pred = pred + 0.25 * rng.random((h, w)).astype(np.float32)
    return np.clip(pred, 0, 1).astype(np.float32), gt


# ------------------------------------------------------------------------------------------------
# thresholds, ground truth
# ------------------------------------------------------------------------------------------------
def test_benchmark_thresholds_are_seism_hed_list():
    t = F.BENCHMARK_EDGE_THRESHOLDS
    assert len(t) == 101
    assert t[:3] == (0.001, 0.01, 0.02) and t[-2:] == (0.99, 0.999)
    assert F.resolve_thresholds(3) == (0.25, 0.5, 0.75)  # edgesEvalImg's linspace(1/(K+1), ...)
    assert F.resolve_thresholds([0.2, 0.4]) == (0.2, 0.4)
    for bad in (0, [], [1.5]):
        with pytest.raises(ValueError, match='edge_thresholds'):
            F.resolve_thresholds(bad)


def test_seg2bmap_by_hand():
    seg = np.array([[1, 1, 2], [1, 1, 2], [3, 3, 3]])
    expected = np.array(
        [
            [0, 1, 0],  # (0,1): right neighbour 2; (0,2): lower neighbour 2 equal -> 0
            [1, 1, 1],  # (1,0): lower 3; (1,1): right 2; (1,2): lower 3 (last column: lower only)
            [0, 0, 0],  # last row: right neighbours only; the corner never
        ],
        dtype=bool,
    )
    np.testing.assert_array_equal(F.seg2bmap(seg), expected)
    only_diag = np.array([[1, 1, 1], [1, 1, 1], [1, 1, 5]])
    # (1,1) differs only from its lower-right neighbour: seg2bmap marks it
    assert F.seg2bmap(only_diag)[1, 1]


# ------------------------------------------------------------------------------------------------
# convTri, gradient2, NMS
# ------------------------------------------------------------------------------------------------
def test_conv_tri_matches_plain_convolution():
    rng = np.random.default_rng(0)
    image = rng.random((9, 11))
    for r in (1, 4):
        f = np.concatenate([np.arange(1, r + 2), np.arange(r, 0, -1)]) / (r + 1) ** 2
        padded = np.pad(image, r, mode='symmetric')
        kernel = np.outer(f, f)
        ref = np.array(
            [
                [np.sum(padded[y : y + 2 * r + 1, x : x + 2 * r + 1] * kernel) for x in range(11)]
                for y in range(9)
            ]
        )
        np.testing.assert_allclose(B.conv_tri(image, r), ref, atol=1e-12)
    # r < 1: [1 p 1] / (2 + p), p = 12 / r / (r + 2) - 2
    p = 12 / 0.5 / 2.5 - 2
    line = np.zeros((1, 5))
    line[0, 2] = 1
    # one row: the vertical pass sees three equal rows (symmetric padding) and changes nothing
    np.testing.assert_allclose(B.conv_tri(line, 0.5)[0], np.array([0, 1, p, 1, 0]) / (2 + p))


def test_gradient2_central_inside_one_sided_at_borders():
    image = np.array([[0.0, 1.0, 4.0, 9.0]])
    ox, oy = B.gradient2(image)
    np.testing.assert_allclose(ox, [[1.0, 2.0, 4.0, 5.0]])
    np.testing.assert_allclose(oy, 0.0)


def test_nms_keeps_the_ridge_and_attenuates_borders():
    x = np.arange(21, dtype=np.float32)
    ridge = np.exp(-((x - 10) ** 2) / 4)[None, :].repeat(21, axis=0)  # a vertical edge at x=10
    out = F.edges_nms(ridge, smooth=0)
    cols = np.nonzero(out[10])[0]
    np.testing.assert_array_equal(cols, [10])
    # rows y < 5 from the top and bottom are scaled by y / 5 (row 0 and row 20 to 0)
    np.testing.assert_allclose(out[:5, 10], ridge[:5, 10] * np.arange(5) / 5, rtol=1e-6)
    np.testing.assert_allclose(out[16:, 10], ridge[16:, 10] * np.arange(4, -1, -1) / 5, rtol=1e-6)


def test_nms_and_thin_agree_with_pyedgeeval():
    pytest.importorskip('pyEdgeEval')
    from pyEdgeEval.preprocess import binary_thin, fast_nms

    for seed in range(3):
        pred, _ = _sample(96, 128, seed)
        theirs = fast_nms(pred.astype(np.float64))
        # pyEdgeEval computes in float64 and divides by Oxx (1e-5 where it is 0) where Dollar's
        # orientation divides by Oxx + 1e-5: with its orientation the suppression is the same
        smooth = B.conv_tri(pred.astype(np.float64), 1)
        ox, oy = B.gradient2(B.conv_tri(smooth, 4))
        oxx, _ = B.gradient2(ox)
        oxy, oyy = B.gradient2(oy)
        oxx[oxx == 0] = 1e-5
        orient = np.mod(np.arctan(oyy * np.sign(-oxy) / oxx), np.pi)
        np.testing.assert_allclose(
            F.edges_nms(pred, orientation=orient, dtype=np.float64), theirs, atol=1e-9
        )
        # in float32 (the MEX file's type) near-ties of m * e and the interpolated value fall
        # either way: a few pixels in a thousand
        ours = F.edges_nms(pred)
        differ = np.count_nonzero((ours > 0) != (theirs > 0))
        assert differ <= max(2, 0.005 * np.count_nonzero(theirs))
        same = (ours > 0) == (theirs > 0)
        np.testing.assert_allclose(ours[same], theirs[same], atol=1e-5)
        for t in (0.05, 0.3, 0.6):
            on = ours > t
            np.testing.assert_array_equal(F.thin(on), binary_thin(on))


def test_thin_equals_scikit_image_on_random_and_edge_maps():
    from skimage.morphology import thin as skimage_thin

    rng = np.random.default_rng(1)
    for k in range(12):  # dense random blobs: many passes, both subiterations
        on = ndi.gaussian_filter(rng.random((50, 60)), 1.5) > 0.45 + 0.01 * k
        np.testing.assert_array_equal(F.thin(on), skimage_thin(on))
    pred, _ = _sample(64, 80, 2)
    for t in (0.02, 0.2, 0.5):
        on = F.edges_nms(pred) > t
        np.testing.assert_array_equal(F.thin(on), skimage_thin(on))
    assert not F.thin(np.zeros((3, 3), dtype=bool)).any()


def test_thin_by_hand():
    band = np.zeros((7, 9), dtype=bool)
    band[2:5, 1:8] = True  # three pixels thick
    thinned = F.thin(band)
    assert thinned[3, 2:7].all() and thinned.sum() == np.count_nonzero(thinned[3])
    square = np.zeros((4, 4), dtype=bool)
    square[1:3, 1:3] = True
    assert F.thin(square).sum() >= 1  # a 2x2 square is not deleted


# ------------------------------------------------------------------------------------------------
# matching
# ------------------------------------------------------------------------------------------------
def test_match_count_by_hand():
    gt = np.zeros((50, 50), dtype=bool)
    gt[10, 10:20] = True  # 10 pixels
    diag = np.sqrt(2) * 50  # 70.7 -> max_dist 0.03 = 2.12 px
    shifted = np.roll(gt, 2, axis=0)
    assert F.match_count(shifted, gt, 0.03) == 10
    assert F.match_count(np.roll(gt, 3, axis=0), gt, 0.03) == 0
    assert F.match_count(np.roll(gt, 3, axis=0), gt, 3 / diag) == 10  # distance <= r counts
    # one GT pixel, two predictions next to it: one match only (a bipartite matching)
    one = np.zeros((50, 50), dtype=bool)
    one[25, 25] = True
    two = np.zeros_like(one)
    two[25, 24] = two[25, 26] = True
    assert F.match_count(two, one, 0.03) == 1
    assert F.match_count(np.zeros_like(one), one, 0.03) == 0
    assert F.match_count(two, np.zeros_like(one), 0.03) == 0
    # a matching, not a nearest-neighbour count: a greedy pairing of the middle GT pixel with
    # the middle prediction would leave one of the outer ones unmatched
    g = np.zeros((5, 40), dtype=bool)
    g[2, [10, 12]] = True
    p = np.zeros_like(g)
    p[2, [11, 13]] = True
    assert F.match_count(p, g, 1.01 / np.hypot(5, 40)) == 2


@pytest.mark.parametrize('max_dist', [0.0075, 0.011])
def test_match_count_against_correspond_pixels(max_dist):
    pytest.importorskip('pyEdgeEval')
    from pyEdgeEval._lib import correspond_pixels

    for seed in range(3):
        pred, gt = _sample(96, 128, seed)
        nms = F.edges_nms(pred)
        for t in (0.05, 0.3, 0.6):
            on = F.thin(nms > t)
            ours = F.match_count(on, gt, max_dist)
            m1, m2, _, _ = correspond_pixels(
                on.astype(np.float64), gt.astype(np.float64), max_dist=max_dist
            )
            theirs = int(np.count_nonzero(m1 > 0))
            assert theirs == int(np.count_nonzero(m2 > 0))
            # the maximum matching is an upper bound of correspondPixels' assignment, which a
            # few pixels in a thousand miss (its random sparse outlier graph)
            assert 0 <= ours - theirs <= 2 + 0.01 * theirs


def test_boundary_counts_against_pyedgeeval():
    pytest.importorskip('pyEdgeEval')
    from pyEdgeEval.common.binary_label.evaluate_boundaries import (
        evaluate_boundaries_threshold,
    )

    thresholds = (0.05, 0.2, 0.4, 0.6, 0.8)
    pred, gt = _sample(80, 100, 7)
    ours = F.boundary_counts(pred, gt, thresholds, max_dist=0.011, quantize=False)
    cnt_r, sum_r, cnt_p, sum_p = evaluate_boundaries_threshold(
        np.array(thresholds), pred.astype(np.float32), gt, max_dist=0.011, apply_nms=True
    )
    np.testing.assert_array_equal(ours['sum_r'], sum_r)
    # '> t' here and '>= t' there agree on continuous maps; NMS near-ties move a pixel or two
    np.testing.assert_allclose(ours['sum_p'], sum_p, atol=3)
    np.testing.assert_allclose(ours['cnt_p'], cnt_p, atol=3 + 0.01 * cnt_p.max())
    np.testing.assert_allclose(ours['cnt_r'], cnt_r, atol=3 + 0.01 * cnt_r.max())


def test_boundary_counts_protocol_switches():
    gt = np.zeros((40, 40), dtype=np.uint8)
    gt[20, 5:35] = 1
    pred = np.zeros((40, 40), dtype=np.float32)
    pred[19:22, 5:35] = 0.8  # a three-pixel band around the GT line
    plain = F.boundary_counts(pred, gt, (0.5,), nms=False, apply_thin=False)
    assert plain['sum_p'][0] == 90 and plain['cnt_p'][0] == 30 and plain['sum_r'][0] == 30
    thinned = F.boundary_counts(pred, gt, (0.5,), nms=False)
    assert thinned['sum_p'][0] < 40 and thinned['cnt_p'][0] >= 28
    # '> t': a pixel equal to the threshold is off
    at = F.boundary_counts(pred, gt, (0.8,), nms=False, apply_thin=False, quantize=False)
    assert at['sum_p'][0] == 0
    # gt_boundaries: seg2bmap of a label map instead of a boundary map
    labels = np.zeros((40, 40), dtype=np.uint8)
    labels[21:] = 1
    from_labels = F.boundary_counts(pred, labels, (0.5,), nms=False, gt_boundaries=True)
    assert from_labels['sum_r'][0] == 40  # row 20 (the whole row: the last column too)
    with pytest.raises(ValueError, match='ground truth'):
        F.boundary_counts(pred, gt[:30], (0.5,))


# ------------------------------------------------------------------------------------------------
# dataset scores
# ------------------------------------------------------------------------------------------------
def test_boundary_scores_by_hand():
    # two images, two thresholds; columns: t0, t1
    cnt_r = np.array([[8, 4], [2, 2]])
    sum_r = np.array([[10, 10], [10, 10]])
    cnt_p = np.array([[8, 4], [2, 2]])
    sum_p = np.array([[20, 5], [4, 2]])
    out = F.boundary_scores(cnt_r, sum_r, cnt_p, sum_p, thresholds=(0.3, 0.6))
    # ODS: t0: R 10/20, P 10/24 -> F = 2 PR / (P + R); t1: R 6/20, P 6/7
    f0 = 2 * (10 / 24) * 0.5 / (10 / 24 + 0.5)
    f1 = 2 * (6 / 7) * 0.3 / (6 / 7 + 0.3)
    assert out['odsF'] == pytest.approx(max(f0, f1) * 100)
    assert out['ods_threshold'] == (0.3 if f0 > f1 else 0.6)
    # OIS: image 1: F(t0) = 2*.4*.8/1.2 = .533, F(t1) = 2*.8*.4/1.2 = .533 -> first (t0);
    # image 2: F(t0) = 2*.5*.2/.7, F(t1) = 2*1*.2/1.2 = .333 -> t1; sums: R 10/20, P 10/22
    p, r = 10 / 22, 10 / 20
    assert out['oisF'] == pytest.approx(2 * p * r / (p + r) * 100)
    # AP: recall 0.3 -> P 6/7, recall 0.5 -> P 10/24; grid 0.30 .. 0.50, linear in between
    grid = np.round(np.arange(30, 51) / 100, 2)
    prec = 6 / 7 + (grid - 0.3) / 0.2 * (10 / 24 - 6 / 7)
    assert out['AP'] == pytest.approx(prec.sum() / 100 * 100)


def test_boundary_scores_degenerate_images():
    # an image without GT and without prediction (P 0, R 1 as eval_cont) does not break OIS
    out = F.boundary_scores([[0], [5]], [[0], [10]], [[0], [5]], [[0], [5]])
    assert out['odsF'] == pytest.approx(2 * 1 * 0.5 / 1.5 * 100)
    assert out['oisF'] == pytest.approx(out['odsF'])
    assert out['AP'] == 0.0  # a single recall value: no curve
    assert np.isnan(F.boundary_scores(np.zeros((0, 3)), *(np.zeros((0, 3)),) * 3)['odsF'])


def test_in_subset_depends_on_the_file_name_only():
    names = [f'/data/nyud/images/{i:04d}.png' for i in range(400)]
    picked = [n for n in names if F.in_subset(n, 4)]
    assert 60 < len(picked) < 140
    assert all(F.in_subset(n.replace('/data/nyud', 'other'), 4) for n in picked)
    assert F.in_subset(None, 1) and F.in_subset('x.png', 1)


def test_iter_counts_workers_give_the_same_counts():
    pairs = [_sample(40, 48, s) for s in range(3)]
    here = list(F.iter_counts(pairs, workers=0, thresholds=(0.2, 0.5)))
    pool = list(F.iter_counts(pairs, workers=2, thresholds=(0.2, 0.5)))
    for a, b in zip(here, pool):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
