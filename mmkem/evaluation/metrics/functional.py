"""Plain metric functions for multi-task dense prediction (numpy only).

Every task kind has two functions: a ``*_stats`` function that reduces one image to a few counts or
sums (what :class:`~mmkem.evaluation.metrics.MultiTaskMetric` keeps per sample, never whole
predictions) and a ``*_scores`` function that turns the stacked statistics of the whole dataset into
metric values. :func:`delta_m` computes the multi-task gain Δm of the paper (and of MTFormer) from
final numbers, so it also works on numbers copied from a paper.

Conventions (see ``docs/metrics.md``): percentages for mIoU, accuracies and F-measures; metres for
depth; degrees for normals.
"""

from typing import Dict, Mapping, Optional, Sequence

import numpy as np

__all__ = [
    'segmentation_stats',
    'segmentation_scores',
    'depth_stats',
    'depth_scores',
    'normals_stats',
    'normals_scores',
    'binary_threshold_stats',
    'f_measure',
    'saliency_scores',
    'edge_scores',
    'relative_gain',
    'delta_m',
    'DEFAULT_SALIENCY_THRESHOLDS',
    'DEFAULT_EDGE_THRESHOLDS',
    'DEFAULT_NORMALS_THRESHOLDS',
]

#: 0.05, 0.10, ..., 0.95: the grid of the common multi-task saliency evaluation.
DEFAULT_SALIENCY_THRESHOLDS = tuple(np.round(np.linspace(0.05, 0.95, 19), 4).tolist())
#: 0.01, 0.02, ..., 0.99: the 99 thresholds of the BSDS boundary benchmark.
DEFAULT_EDGE_THRESHOLDS = tuple(np.round(np.linspace(0.01, 0.99, 99), 4).tolist())
#: Angle thresholds (degrees) of the "% of pixels within t" normals metrics.
DEFAULT_NORMALS_THRESHOLDS = (11.25, 22.5, 30.0)


def _check_same_shape(pred: np.ndarray, gt: np.ndarray, what: str) -> None:
    if pred.shape != gt.shape:
        raise ValueError(
            f'{what}: prediction shape {tuple(pred.shape)} differs from ground-truth shape '
            f'{tuple(gt.shape)}; predictions must be resized to the ground truth first'
        )


# --------------------------------------------------------------------------------------------------
# segmentation (semseg, human_parts)
# --------------------------------------------------------------------------------------------------
def segmentation_stats(
    pred: np.ndarray, gt: np.ndarray, num_classes: int, ignore_index: Optional[int] = 255
) -> Dict[str, np.ndarray]:
    """Per-class areas of one label map.

    Pixels whose ground truth equals ``ignore_index`` are left out entirely (also from the predicted
    area), as in mmseg's ``IoUMetric``. An image whose ground truth is all ``ignore_index`` (a
    PASCAL image without people, for human parts) therefore contributes nothing.

    Args:
        pred (np.ndarray): Predicted labels, integer, any shape (e.g. (1, H, W)).
        gt (np.ndarray): Ground-truth labels, same shape, values in ``[0, num_classes)`` or
            ``ignore_index``.
        num_classes (int): Number of classes C.
        ignore_index (int, optional): Label excluded from the statistics. Defaults to 255.

    Returns:
        dict: ``intersect``, ``pred_area``, ``gt_area``: int64 arrays of shape (C,).
    """
    _check_same_shape(pred, gt, 'segmentation')
    pred = np.asarray(pred).astype(np.int64).ravel()
    gt = np.asarray(gt).astype(np.int64).ravel()
    if ignore_index is not None:
        keep = gt != ignore_index
        pred, gt = pred[keep], gt[keep]
    if gt.size and (gt.min() < 0 or gt.max() >= num_classes):
        raise ValueError(
            f'segmentation ground truth has labels outside [0, {num_classes}) that are not the '
            f'ignore_index {ignore_index}: found {sorted(set(np.unique(gt).tolist()))[:10]}'
        )
    pred_in = (pred >= 0) & (pred < num_classes)
    hit = pred == gt
    return dict(
        intersect=np.bincount(gt[hit], minlength=num_classes).astype(np.int64),
        pred_area=np.bincount(pred[pred_in], minlength=num_classes).astype(np.int64),
        gt_area=np.bincount(gt, minlength=num_classes).astype(np.int64),
    )


def segmentation_scores(
    intersect: np.ndarray, pred_area: np.ndarray, gt_area: np.ndarray
) -> Dict[str, object]:
    """mIoU, mAcc and aAcc from areas summed over a dataset (percent).

    A class with an empty union (never predicted and never in the ground truth) has no IoU and is
    left out of the mean (``nanmean``, mmseg's convention).

    Args:
        intersect (np.ndarray): (C,) or (N, C) true-positive pixel counts; summed over N.
        pred_area (np.ndarray): Predicted pixel counts, same shape.
        gt_area (np.ndarray): Ground-truth pixel counts, same shape.

    Returns:
        dict: ``mIoU``, ``mAcc``, ``aAcc`` (floats, percent) and ``IoU`` ((C,) array, percent, nan
        for classes with an empty union).
    """
    intersect = np.asarray(intersect, dtype=np.float64)
    pred_area = np.asarray(pred_area, dtype=np.float64)
    gt_area = np.asarray(gt_area, dtype=np.float64)
    if intersect.ndim == 2:
        intersect, pred_area, gt_area = intersect.sum(0), pred_area.sum(0), gt_area.sum(0)
    union = pred_area + gt_area - intersect
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = np.where(union > 0, intersect / union, np.nan)
        acc = np.where(gt_area > 0, intersect / gt_area, np.nan)
    total = gt_area.sum()
    return dict(
        mIoU=_nanmean(iou) * 100,
        mAcc=_nanmean(acc) * 100,
        aAcc=(intersect.sum() / total * 100) if total > 0 else float('nan'),
        IoU=iou * 100,
    )


def _nanmean(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    finite = ~np.isnan(x)
    return float(x[finite].mean()) if finite.any() else float('nan')


# --------------------------------------------------------------------------------------------------
# depth
# --------------------------------------------------------------------------------------------------
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
    _check_same_shape(pred, gt, 'depth')
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


# --------------------------------------------------------------------------------------------------
# surface normals
# --------------------------------------------------------------------------------------------------
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
    _check_same_shape(pred, gt, 'normals')
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


# --------------------------------------------------------------------------------------------------
# binary maps (saliency, edges)
# --------------------------------------------------------------------------------------------------
def binary_threshold_stats(
    pred: np.ndarray,
    gt: np.ndarray,
    thresholds: Sequence[float],
    ignore_index: Optional[int] = 255,
) -> Dict[str, object]:
    """True/false positives and false negatives of a probability map at several thresholds.

    A pixel is predicted positive at threshold t where ``pred >= t``; the ground truth is positive
    where it is ``>= 0.5`` (labels {0, 1}); pixels equal to ``ignore_index`` are left out.

    Args:
        pred (np.ndarray): Probabilities in [0, 1], any shape (e.g. (1, H, W)).
        gt (np.ndarray): Labels {0, 1} (or ``ignore_index``), same shape.
        thresholds (Sequence[float]): The T thresholds.
        ignore_index (int, optional): Ignored label. Defaults to 255.

    Returns:
        dict: ``tp``, ``fp``, ``fn``: (T,) int64 arrays; ``num_valid``: number of kept pixels.
    """
    _check_same_shape(pred, gt, 'binary map')
    pred = np.asarray(pred, dtype=np.float64).ravel()
    gt = np.asarray(gt).ravel()
    if ignore_index is not None:
        keep = gt != ignore_index
        pred, gt = pred[keep], gt[keep]
    pos = gt >= 0.5
    pos_scores = np.sort(pred[pos])
    neg_scores = np.sort(pred[~pos])
    t = np.asarray(thresholds, dtype=np.float64)
    tp = pos_scores.size - np.searchsorted(pos_scores, t, side='left')
    fp = neg_scores.size - np.searchsorted(neg_scores, t, side='left')
    return dict(
        tp=tp.astype(np.int64),
        fp=fp.astype(np.int64),
        fn=(pos_scores.size - tp).astype(np.int64),
        num_valid=int(pred.size),
    )


def f_measure(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, beta2: float = 1.0) -> np.ndarray:
    """F_beta = (1 + β²) P R / (β² P + R), elementwise; 0 where it is undefined.

    Args:
        tp, fp, fn (np.ndarray): Counts, any (equal) shape.
        beta2 (float): β². 0.3 for saliency, 1 for edges. Defaults to 1.0.

    Returns:
        np.ndarray: F in [0, 1], the shape of ``tp``.
    """
    tp, fp, fn = (np.asarray(v, dtype=np.float64) for v in (tp, fp, fn))
    with np.errstate(divide='ignore', invalid='ignore'):
        precision = tp / (tp + fp)
        recall = tp / (tp + fn)
        f = (1 + beta2) * precision * recall / (beta2 * precision + recall)
    return np.nan_to_num(f, nan=0.0)


def saliency_scores(
    tp: np.ndarray,
    fp: np.ndarray,
    fn: np.ndarray,
    num_valid: Sequence[int],
    beta2: float = 0.3,
) -> Dict[str, float]:
    """maxF and mIoU of saliency from per-image threshold counts (percent).

    - ``maxF``: the counts are summed over the dataset, F_β (β² = 0.3) is computed at each threshold
      and the maximum is taken (the dataset-level F of the common multi-task code).
    - ``mIoU``: at each threshold, the foreground IoU ``tp / (tp + fp + fn)`` of each image (1 when
      both prediction and ground truth are empty), averaged over images with a valid pixel; then the
      maximum over thresholds (ASTMT / MTI-Net's saliency mIoU, the scale of the paper's Table 2).

    Args:
        tp, fp, fn (np.ndarray): (N, T) per-image counts from :func:`binary_threshold_stats`.
        num_valid (Sequence[int]): (N,) valid pixels per image.
        beta2 (float): β² of the F-measure. Defaults to 0.3.

    Returns:
        dict: ``maxF`` and ``mIoU`` (percent).
    """
    tp, fp, fn = (np.atleast_2d(np.asarray(v, dtype=np.float64)) for v in (tp, fp, fn))
    keep = np.asarray(num_valid) > 0
    if not keep.any():
        return dict(maxF=float('nan'), mIoU=float('nan'))
    f = f_measure(tp.sum(0), fp.sum(0), fn.sum(0), beta2)
    tp, fp, fn = tp[keep], fp[keep], fn[keep]
    union = tp + fp + fn
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = np.where(union > 0, tp / union, 1.0)
    return dict(maxF=float(f.max() * 100), mIoU=float(iou.mean(0).max() * 100))


def edge_scores(
    tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, beta2: float = 1.0
) -> Dict[str, float]:
    """An approximation of the boundary benchmark's ODS F-measure (percent).

    Counts are summed over the dataset and the best F over thresholds is taken (one threshold for
    the whole dataset, as ODS), but pixels are matched exactly: the benchmark's thinning and
    matching tolerance (``maxDist``: 0.0075 of the image diagonal for BSDS and PASCAL-Context, 0.011
    for NYUD-v2) are not applied, so the value is usually lower than the real odsF. Use the
    SEISM/BSDS benchmark for paper numbers.

    Args:
        tp, fp, fn (np.ndarray): (N, T) or (T,) counts from :func:`binary_threshold_stats`.
        beta2 (float): β². Defaults to 1.0.

    Returns:
        dict: ``odsF_approx`` (percent).
    """
    tp, fp, fn = (np.atleast_2d(np.asarray(v, dtype=np.float64)).sum(0) for v in (tp, fp, fn))
    return dict(odsF_approx=float(f_measure(tp, fp, fn, beta2).max() * 100))


# --------------------------------------------------------------------------------------------------
# Δm
# --------------------------------------------------------------------------------------------------
def relative_gain(value: float, reference: float, lower_is_better: bool) -> float:
    """(-1)^l (value - reference) / reference * 100: positive when ``value`` beats ``reference``.

    Args:
        value (float): Multi-task model's metric M_m.
        reference (float): Single-task reference M_s (non-zero).
        lower_is_better (bool): l = 1 (e.g. RMSE) or l = 0 (e.g. mIoU).

    Returns:
        float: Gain in percent.
    """
    if reference == 0:
        raise ValueError('reference must be non-zero to compute a relative gain')
    sign = -1.0 if lower_is_better else 1.0
    return sign * (float(value) - float(reference)) / float(reference) * 100


def delta_m(
    results: Mapping[str, float],
    references: Mapping[str, float],
    lower_is_better: Mapping[str, bool],
) -> float:
    """Δm = (1/n) Σ_i (-1)^{l_i} (M_m,i - M_s,i) / M_s,i × 100 (percent).

    The sum runs over the tasks of ``references`` (paper eq. in Sec. 4, after MTFormer).

    Args:
        results (Mapping[str, float]): Task name -> the multi-task model's value of the task's main
            metric.
        references (Mapping[str, float]): Task name -> single-task reference of the same metric.
        lower_is_better (Mapping[str, bool]): Task name -> l_i.

    Returns:
        float: Δm in percent (positive: the multi-task model is better on average).

    Example:
        >>> delta_m(dict(semseg=49.63, depth=0.474), dict(semseg=47.96, depth=0.4972),
        ...         dict(semseg=False, depth=True))  # doctest: +ELLIPSIS
        4.07...
    """
    if not references:
        raise ValueError('delta_m needs at least one task in references')
    gains = []
    for task, ref in references.items():
        if task not in results:
            raise KeyError(
                f'delta_m: task {task!r} has a reference but no result in {sorted(results)}'
            )
        if task not in lower_is_better:
            raise KeyError(f'delta_m: lower_is_better has no entry for task {task!r}')
        gains.append(relative_gain(results[task], ref, lower_is_better[task]))
    return float(np.mean(gains))
