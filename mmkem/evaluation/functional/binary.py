"""Binary maps (saliency): counts at thresholds of one map, F-measures of a dataset.

Edges have the boundary benchmark's own matching (:mod:`.boundary`).
"""

from typing import Dict, Optional, Sequence

import numpy as np

from .utils import check_same_shape

#: 0.05, 0.10, ..., 0.95: the grid of the common multi-task saliency evaluation.
DEFAULT_SALIENCY_THRESHOLDS = tuple(np.round(np.linspace(0.05, 0.95, 19), 4).tolist())

__all__ = [
    'DEFAULT_SALIENCY_THRESHOLDS',
    'binary_threshold_stats',
    'f_measure',
    'saliency_scores',
]


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
    check_same_shape(pred, gt, 'binary map')
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
