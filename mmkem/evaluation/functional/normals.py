"""Surface normals: angle statistics of one map, mean / median / RMSE angle and % within t."""

from typing import Dict, Sequence

import numpy as np

from .utils import check_same_shape

#: Angle thresholds (degrees) of the "% of pixels within t" normals metrics.
DEFAULT_NORMALS_THRESHOLDS = (11.25, 22.5, 30.0)

__all__ = ['DEFAULT_NORMALS_THRESHOLDS', 'normals_scores', 'normals_stats']


def normals_stats(
    pred: np.ndarray,
    gt: np.ndarray,
    num_bins: int = 1800,
    thresholds: Sequence[float] = DEFAULT_NORMALS_THRESHOLDS,
) -> Dict[str, object]:
    """Angular error statistics of one normal map over its valid pixels.

    Both maps are L2-normalised per pixel first (a zero predicted vector gets a 90° error). A pixel
    is invalid where the ground-truth vector is all zero.

    Args:
        pred (np.ndarray): Predicted normals, (3, H, W).
        gt (np.ndarray): Ground-truth normals, (3, H, W); all-zero vectors are invalid.
        num_bins (int): Bins of the angle histogram over [0°, 180°] used for the median.
            Defaults to 1800 (0.1° bins).
        thresholds (Sequence[float]): Angles t (degrees) for the "% of pixels with error < t"
            metrics. Defaults to (11.25, 22.5, 30).

    Returns:
        dict: ``angle_sum``, ``angle_sq_sum`` (degrees, degrees²), ``num_valid``, ``hist``
        ((num_bins,) int64 counts) and ``within`` ((len(thresholds),) int64 counts of error < t).
    """
    check_same_shape(pred, gt, 'normals')
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if pred.ndim != 3 or pred.shape[0] != 3:
        raise ValueError(f'normals must have shape (3, H, W), got {tuple(pred.shape)}')
    valid = np.any(gt != 0, axis=0)
    p = pred[:, valid]
    g = gt[:, valid]
    p = p / np.maximum(np.linalg.norm(p, axis=0, keepdims=True), 1e-12)
    g = g / np.linalg.norm(g, axis=0, keepdims=True)
    angle = np.degrees(np.arccos(np.clip(np.sum(p * g, axis=0), -1.0, 1.0)))
    width = 180.0 / num_bins
    idx = np.clip((angle / width).astype(np.int64), 0, num_bins - 1)
    return dict(
        angle_sum=float(angle.sum()),
        angle_sq_sum=float(np.sum(angle**2)),
        num_valid=int(angle.size),
        hist=np.bincount(idx, minlength=num_bins).astype(np.int64),
        within=np.array([np.sum(angle < t) for t in thresholds], dtype=np.int64),
    )


def normals_scores(
    angle_sum: Sequence[float],
    angle_sq_sum: Sequence[float],
    num_valid: Sequence[int],
    hist: np.ndarray,
    within: np.ndarray,
    thresholds: Sequence[float] = DEFAULT_NORMALS_THRESHOLDS,
) -> Dict[str, float]:
    """Mean, median and RMSE angle (degrees) and % within thresholds, pooled over all valid pixels.

    The median is read from the summed histogram with linear interpolation inside the bin that holds
    the middle pixel, so it is exact to within one bin width (0.1° with the default 1800 bins).

    Args:
        angle_sum, angle_sq_sum, num_valid (Sequence): Per-image values from :func:`normals_stats`,
            (N,).
        hist (np.ndarray): Per-image histograms, (N, num_bins) (or one summed (num_bins,)
            histogram).
        within (np.ndarray): Per-image counts, (N, len(thresholds)) (or summed).
        thresholds (Sequence[float]): The angles of ``within``. Defaults to (11.25, 22.5, 30).

    Returns:
        dict: ``mean``, ``median``, ``rmse`` (degrees) and one key per threshold, named ``f'{t:g}'``
        (``'11.25'``, ``'22.5'``, ``'30'``), in percent of valid pixels.
    """
    hist = np.asarray(hist, dtype=np.float64)
    within = np.asarray(within, dtype=np.float64)
    if hist.ndim == 2:
        hist, within = hist.sum(0), within.sum(0)
    n = float(np.sum(num_valid))
    keys = [f'{t:g}' for t in thresholds]
    if n == 0:
        return dict(
            mean=float('nan'),
            median=float('nan'),
            rmse=float('nan'),
            **{k: float('nan') for k in keys},
        )
    width = 180.0 / hist.size
    cum = np.cumsum(hist)
    half = n / 2.0
    b = int(np.searchsorted(cum, half, side='left'))
    before = cum[b - 1] if b > 0 else 0.0
    median = (b + (half - before) / hist[b]) * width
    out = dict(
        mean=float(np.sum(angle_sum) / n),
        median=float(median),
        rmse=float(np.sqrt(np.sum(angle_sq_sum) / n)),
    )
    out.update({k: float(c / n * 100) for k, c in zip(keys, within)})
    return out
