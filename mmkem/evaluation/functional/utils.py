"""What the metric functions share."""

import numpy as np

__all__ = ['check_same_shape', 'nanmean']


def check_same_shape(pred: np.ndarray, gt: np.ndarray, what: str) -> None:
    if pred.shape != gt.shape:
        raise ValueError(
            f'{what}: prediction shape {tuple(pred.shape)} differs from ground-truth shape '
            f'{tuple(gt.shape)}; predictions must be resized to the ground truth first'
        )


def nanmean(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    finite = ~np.isnan(x)
    return float(x[finite].mean()) if finite.any() else float('nan')
