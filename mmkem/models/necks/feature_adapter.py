"""Fuse a backbone's multi-level features into the one shared map the task branches start from.

This is a neck in mmseg's sense (the module right after the backbone): ``MultiTaskSegmentor``
builds it from its ``feature_adapter`` key.
"""

from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import OptMultiConfig
from torch import Tensor


@MODELS.register_module()
class FeatureAdapter(BaseModule):
    """Select backbone levels, resize them to one level's stride, concatenate, project to C.

    The per-task encoders of the paper work on one token grid of width ``d``; backbones (Swin,
    ResNet, timm models) give a tuple of maps at several strides. This adapter picks the levels in
    ``in_index``, resizes each (bilinear) to the spatial size of level ``out_index``, concatenates
    them along channels and maps the result to ``channels`` with a 1x1 convolution.

    With ``project_first=True`` the same map is computed in the other order: each level is first
    projected at its own resolution by its slice of the 1x1 convolution's weight, the projected
    ``channels``-wide maps are resized and summed, and the bias is added once. A 1x1 convolution
    and a bilinear resize are both linear and the resize's weights sum to one, so the two orders
    give the same output (up to float rounding) from the same parameters. At a fine output stride
    (stride 8 or 4 from Swin's four levels) this is several times cheaper: the wide coarse levels
    (384, 768 channels) are projected on their few pixels instead of being upsampled first, and
    only ``channels``-wide maps are resized.

    Args:
        in_channels (Sequence[int]): Channels of the selected levels, one per entry of ``in_index``.
        channels (int): Output channels C (the token width of the task branches).
        in_index (Sequence[int], optional): Backbone levels to use. Defaults to None, i.e. all
            levels ``0 .. len(in_channels) - 1``.
        out_index (int, optional): Backbone level whose resolution the output takes; must be one of
            ``in_index``. Defaults to None, i.e. the last entry of ``in_index`` (usually the
            coarsest, the cheapest for attention over tokens).
        align_corners (bool): ``align_corners`` of the bilinear resize. Defaults to False.
        project_first (bool): Project every level before resizing (same output, cheaper at a
            fine ``out_index``; see above). Defaults to False.
        init_cfg (dict or list[dict], optional): Initialisation config. Defaults to None.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        channels: int,
        in_index: Optional[Sequence[int]] = None,
        out_index: Optional[int] = None,
        align_corners: bool = False,
        project_first: bool = False,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        in_channels = [in_channels] if isinstance(in_channels, int) else list(in_channels)
        in_index = list(range(len(in_channels))) if in_index is None else list(in_index)
        if len(in_index) == 0 or len(in_index) != len(in_channels):
            raise ValueError(
                f'in_channels ({in_channels}) must give one channel count per level of in_index '
                f'({in_index})'
            )
        out_index = in_index[-1] if out_index is None else out_index
        if out_index not in in_index:
            raise ValueError(f'out_index ({out_index}) must be one of in_index ({in_index})')
        if channels < 1:
            raise ValueError(f'channels must be positive, got {channels}')
        self.in_channels = in_channels
        self.in_index = in_index
        self.out_index = out_index
        self.channels = channels
        self.align_corners = align_corners
        self.project_first = project_first
        self.proj = nn.Conv2d(sum(in_channels), channels, kernel_size=1)

    def forward(self, feats: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        """Fuse the selected levels.

        Args:
            feats (Tensor | Sequence[Tensor]): Backbone outputs, level ``l`` of shape
                (B, C_l, H_l, W_l); a single tensor counts as level 0.

        Returns:
            Tensor: (B, channels, H_out, W_out), the size of level ``out_index``.
        """
        feats: Tuple[Tensor, ...] = (feats,) if isinstance(feats, Tensor) else tuple(feats)
        if max(self.in_index) >= len(feats):
            raise ValueError(
                f'in_index {self.in_index} asks for level {max(self.in_index)} but the backbone '
                f'gave {len(feats)} levels'
            )
        size = feats[self.out_index].shape[-2:]
        got = [int(feats[level].shape[1]) for level in self.in_index]
        if got != list(self.in_channels):
            option = '[' + ','.join(map(str, got)) + ']'
            raise ValueError(
                f'FeatureAdapter: the backbone levels {list(self.in_index)} have {got} channels, '
                f'in_channels says {list(self.in_channels)}: set '
                f'model.feature_adapter.in_channels={option}'
            )
        if self.project_first:
            return self._project_then_resize(feats, size)
        selected = [self._resize(feats[level], size) for level in self.in_index]
        return self.proj(torch.cat(selected, dim=1))

    def _resize(self, feat: Tensor, size: torch.Size) -> Tensor:
        if feat.shape[-2:] == size:
            return feat
        return F.interpolate(feat, size=size, mode='bilinear', align_corners=self.align_corners)

    def _project_then_resize(self, feats: Sequence[Tensor], size: torch.Size) -> Tensor:
        """``sum_l resize(W_l x_l) + b``: the 1x1 convolution split by level, then resized."""
        weights = self.proj.weight.split(self.in_channels, dim=1)
        out = None
        for level, weight in zip(self.in_index, weights):
            projected = self._resize(F.conv2d(feats[level], weight), size)
            out = projected if out is None else out + projected
        return out + self.proj.bias.view(1, -1, 1, 1)
