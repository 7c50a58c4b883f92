"""Binary cross-entropy with an ignore value and optional class balancing (edges, saliency)."""

from typing import Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .utils import check_same_shape


@MODELS.register_module()
class BalancedBCELoss(nn.Module):
    """Binary cross-entropy on logits, with ignored pixels and a positive-class weight.

    Each labelled pixel's BCE is weighted by ``w`` when its label is 1 and by ``1 - w`` when it
    is 0, as in the balanced cross-entropy of the multi-task literature (MTI-Net / ATRC use
    ``w = 0.95`` for edges, where positives are rare):

    - ``pos_weight=float``: that ``w`` (must lie in (0, 1)).
    - ``pos_weight='auto'``: ``w`` = fraction of negative pixels among the labelled pixels of the
      batch (HED-style balancing).
    - ``pos_weight=None``: plain BCE, both classes weighted 1.

    Pixels equal to ``ignore_index`` (255: unlabelled and padding) never count.

    Args:
        pos_weight (float | str, optional): See above. Defaults to 0.95.
        avg_non_ignore (bool): Divide the weighted sum by the number of labelled pixels (True) or
            by all pixels of the batch (False, what MTI-Net / ATRC do). Defaults to True.
        loss_weight (float): Factor applied to the loss. Defaults to 1.0.
        loss_name (str): Key of the loss in the loss dict. Defaults to ``'loss_bce'``.
    """

    def __init__(
        self,
        pos_weight: Union[float, str, None] = 0.95,
        avg_non_ignore: bool = True,
        loss_weight: float = 1.0,
        loss_name: str = 'loss_bce',
    ) -> None:
        super().__init__()
        if isinstance(pos_weight, str):
            if pos_weight != 'auto':
                raise ValueError(f"pos_weight must be a float, 'auto' or None, got {pos_weight!r}")
        elif pos_weight is not None and not 0 < pos_weight < 1:
            raise ValueError(f'pos_weight must lie in (0, 1), got {pos_weight}')
        self.pos_weight = pos_weight
        self.avg_non_ignore = avg_non_ignore
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, pred: Tensor, target: Tensor, ignore_index: Optional[int] = 255) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Logits, (B, 1, H, W).
            target (Tensor): Labels in {0, 1} or ``ignore_index``, (B, 1, H, W), any dtype.
            ignore_index (int, optional): Label value excluded from the loss. Defaults to 255.

        Returns:
            Tensor: Scalar loss.
        """
        check_same_shape(pred, target)
        target = target.to(pred.dtype)
        if ignore_index is None:
            valid = torch.ones_like(target, dtype=torch.bool)
        else:
            valid = target != ignore_index
        label = torch.where(valid, target, torch.zeros_like(target))
        bce = F.binary_cross_entropy_with_logits(pred, label, reduction='none')
        weight = self._class_weights(label, valid)
        total = torch.where(valid, weight * bce, torch.zeros_like(bce)).sum()
        denom = valid.sum().clamp(min=1) if self.avg_non_ignore else target.numel()
        return self.loss_weight * total / denom

    def _class_weights(self, label: Tensor, valid: Tensor) -> Tensor:
        """Per-pixel weight: ``w`` on positives, ``1 - w`` on negatives (1 for plain BCE)."""
        if self.pos_weight is None:
            return torch.ones_like(label)
        if self.pos_weight == 'auto':
            num_valid = valid.sum().clamp(min=1)
            w = ((1 - label) * valid).sum() / num_valid
        else:
            w = label.new_tensor(self.pos_weight)
        return label * w + (1 - label) * (1 - w)

    @property
    def loss_name(self) -> str:
        """str: Key of this loss in the loss dict."""
        return self._loss_name
