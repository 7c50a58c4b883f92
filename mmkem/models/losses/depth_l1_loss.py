"""L1 depth loss over valid pixels."""

import torch
import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor

from .utils import check_same_shape


@MODELS.register_module()
class DepthL1Loss(nn.Module):
    """Mean absolute depth error over the pixels with a valid ground truth.

    A pixel counts when its ground-truth depth is greater than 0: invalid depth is stored as 0
    (docs/internals.md) and the data preprocessor pads depth maps with 0, so neither invalid nor
    padded pixels ever contribute. The loss is the mean over valid pixels; a batch without any valid
    pixel gives 0 (still attached to the graph, so the backward pass runs unchanged).

    Args:
        loss_weight (float): Factor applied to the loss. Defaults to 1.0.
        loss_name (str): Key of the loss in the loss dict; it must start with ``loss_`` to be
            summed by mmengine. Defaults to ``'loss_depth_l1'``.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_depth_l1') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Predicted depth in metres, (B, 1, H, W).
            target (Tensor): Ground-truth depth in metres, (B, 1, H, W), 0 where invalid.

        Returns:
            Tensor: Scalar loss.
        """
        check_same_shape(pred, target)
        valid = (target > 0) & torch.isfinite(target)
        diff = torch.where(valid, (pred - target).abs(), torch.zeros_like(pred))
        # clamp(min=1): an all-invalid batch gives 0 (with grad) instead of 0 / 0.
        return self.loss_weight * diff.sum() / valid.sum().clamp(min=1)

    @property
    def loss_name(self) -> str:
        """str: Key of this loss in the loss dict."""
        return self._loss_name
