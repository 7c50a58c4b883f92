"""Depth: error sums of one map, RMSE / abs. rel. / log RMSE pooled or per image."""

from typing import Dict, Sequence

import numpy as np

from .utils import check_same_shape

__all__ = ['depth_scores', 'depth_stats']


def depth_stats(pred: np.ndarray, gt: np.ndarray, min_depth: float = 1e-9) -> Dict[str, float]:
    """Error sums of one depth map over its valid pixels (``gt > 0`` and finite).

    Args:
        pred (np.ndarray): Predicted depth in metres, any shape (e.g. (1, H, W)).
        gt (np.ndarray): Ground-truth depth in metres, same shape; ``<= 0`` marks invalid pixels.
        min_depth (float): Predictions are clamped to at least this value before the logarithm of
            ``log_rmse``. Defaults to 1e-9.

    Returns:
        dict: ``sq_err`` (sum of squared errors, m²), ``abs_rel`` (sum of ``|pred - gt| / gt``),
        ``log_sq_err`` (sum of squared log errors) and ``num_valid`` (pixel count).
    """
    check_same_shape(pred, gt, 'depth')
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    valid = np.isfinite(gt) & (gt > 0)
    p, g = pred[valid], gt[valid]
    diff = p - g
    return dict(
        sq_err=float(np.sum(diff**2)),
        abs_rel=float(np.sum(np.abs(diff) / g)),
        log_sq_err=float(np.sum((np.log(np.maximum(p, min_depth)) - np.log(g)) ** 2)),
        num_valid=int(valid.sum()),
    )


def depth_scores(
    sq_err: Sequence[float],
    abs_rel: Sequence[float],
    log_sq_err: Sequence[float],
    num_valid: Sequence[int],
    mode: str = 'pooled',
) -> Dict[str, float]:
    """RMSE, abs. rel. and log RMSE from per-image sums.

    Args:
        sq_err, abs_rel, log_sq_err (Sequence[float]): Per-image sums from :func:`depth_stats`,
            (N,).
        num_valid (Sequence[int]): Per-image valid pixel counts, (N,).
        mode (str): ``'pooled'``: every valid pixel of the dataset weighs the same,
            ``rmse = sqrt(sum of squared errors / number of valid pixels)`` (the multi-task
            literature: MTI-Net, ATRC, InvPT, MTFormer). ``'per_image'``: the metric of each image,
            then the mean over images with at least one valid pixel (mmseg's ``DepthMetric``).
            Defaults to ``'pooled'``.

    Returns:
        dict: ``rmse`` (metres), ``abs_rel`` (ratio), ``log_rmse``. nan when no pixel is valid.
    """
    if mode not in ('pooled', 'per_image'):
        raise ValueError(f"depth mode must be 'pooled' or 'per_image', got {mode!r}")
    sq_err, abs_rel, log_sq_err, n = (
        np.asarray(v, dtype=np.float64) for v in (sq_err, abs_rel, log_sq_err, num_valid)
    )
    nan = float('nan')
    if mode == 'pooled':
        total = n.sum()
        if total == 0:
            return dict(rmse=nan, abs_rel=nan, log_rmse=nan)
        return dict(
            rmse=float(np.sqrt(sq_err.sum() / total)),
            abs_rel=float(abs_rel.sum() / total),
            log_rmse=float(np.sqrt(log_sq_err.sum() / total)),
        )
    keep = n > 0
    if not keep.any():
        return dict(rmse=nan, abs_rel=nan, log_rmse=nan)
    n = n[keep]
    return dict(
        rmse=float(np.mean(np.sqrt(sq_err[keep] / n))),
        abs_rel=float(np.mean(abs_rel[keep] / n)),
        log_rmse=float(np.mean(np.sqrt(log_sq_err[keep] / n))),
    )
