"""Surface-normal loss on L2-normalised predictions."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor


def _l1(pred: Tensor, target: Tensor) -> Tensor:
    """Per-pixel L1 distance summed over the 3 components, (B, H, W)."""
    return (pred - target).abs().sum(dim=1)


def _cosine(pred: Tensor, target: Tensor) -> Tensor:
    """Per-pixel ``1 - cos`` between the normals, (B, H, W)."""
    return 1 - (pred * target).sum(dim=1)


@MODELS.register_module()
class NormalsLoss(nn.Module):
    """Surface-normal loss over pixels with a valid ground truth.

    The prediction is L2-normalised along the channel axis first. A pixel is valid when its
    ground-truth normal is not all-zero (invalid normals and padding are zero vectors).

    - ``mode='l1'`` (default, the multi-task literature's choice, e.g. ATRC / MTI-Net): the mean
      absolute difference over the valid pixels' components, ``sum |n̂ - n| / (3 * #valid)``.
    - ``mode='cosine'``: the mean of ``1 - <n̂, n>`` over the valid pixels.

    A batch without any valid pixel gives 0 (attached to the graph).

    Args:
        mode (str): ``'l1'`` or ``'cosine'``. Defaults to ``'l1'``.
        loss_weight (float): Factor applied to the loss. Defaults to 1.0.
        eps (float): Epsilon of the L2 normalisation. Defaults to 1e-6.
        loss_name (str): Key of the loss in the loss dict. Defaults to ``'loss_normals'``.
    """

    _MODES = {'l1': (_l1, 3), 'cosine': (_cosine, 1)}

    def __init__(
        self,
        mode: str = 'l1',
        loss_weight: float = 1.0,
        eps: float = 1e-6,
        loss_name: str = 'loss_normals',
    ) -> None:
        super().__init__()
        if mode not in self._MODES:
            raise ValueError(f'mode must be one of {sorted(self._MODES)}, got {mode!r}')
        self.mode = mode
        self.loss_weight = loss_weight
        self.eps = eps
        self._loss_name = loss_name

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Predicted normals, not necessarily unit length, (B, 3, H, W).
            target (Tensor): Ground-truth unit normals, (B, 3, H, W), all-zero where invalid.

        Returns:
            Tensor: Scalar loss.
        """
        if pred.shape != target.shape or pred.shape[1] != 3:
            raise ValueError(
                'pred and target must both have shape (B, 3, H, W), got '
                f'{tuple(pred.shape)} and {tuple(target.shape)}'
            )
        distance, components = self._MODES[self.mode]
        valid = target.abs().sum(dim=1) > 0
        per_pixel = distance(F.normalize(pred, dim=1, eps=self.eps), target)
        per_pixel = torch.where(valid, per_pixel, torch.zeros_like(per_pixel))
        return self.loss_weight * per_pixel.sum() / (components * valid.sum()).clamp(min=1)

    @property
    def loss_name(self) -> str:
        """str: Key of this loss in the loss dict."""
        return self._loss_name
