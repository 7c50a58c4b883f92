"""Segmentation (semseg, human parts): per-class areas of one map, mIoU / mAcc / aAcc overall."""

from typing import Dict, Optional

import numpy as np

from .utils import check_same_shape, nanmean

__all__ = ['segmentation_scores', 'segmentation_stats']


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
    check_same_shape(pred, gt, 'segmentation')
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
        mIoU=nanmean(iou) * 100,
        mAcc=nanmean(acc) * 100,
        aAcc=(intersect.sum() / total * 100) if total > 0 else float('nan'),
        IoU=iou * 100,
    )
