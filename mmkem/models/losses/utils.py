"""Checks shared by the dense losses."""

from torch import Tensor

__all__ = ['check_same_shape']


def check_same_shape(pred: Tensor, target: Tensor) -> None:
    """Raise a ``ValueError`` unless ``pred`` and ``target`` have the same shape.

    Args:
        pred (Tensor): Prediction, any shape.
        target (Tensor): Ground truth, expected to have the shape of ``pred``.
    """
    if pred.shape != target.shape:
        raise ValueError(
            f'pred and target must have the same shape, got {tuple(pred.shape)} and '
            f'{tuple(target.shape)}'
        )
