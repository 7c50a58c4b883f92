"""The call contract of the task-interaction modules: n task maps in, n task maps out."""

from typing import Dict, List, Sequence, Tuple, Union

from mmengine.model import BaseModule
from mmseg.utils import OptMultiConfig
from torch import Tensor, nn

from ..layers import merge_tokens, split_tokens

__all__ = ['BaseTaskInteraction']


class BaseTaskInteraction(BaseModule):
    """Base of the modules that let ``num_tasks`` task maps exchange information.

    :class:`~mmkem.models.segmentors.MultiTaskSegmentor` puts such a module between the task
    encoders and the decoders (it is not an mmseg neck: mmseg's neck follows the backbone). The
    contract, held here once: the input is a list of exactly ``num_tasks`` maps ``(B, C, H, W)`` of
    equal shape with ``C = in_channels``; they are read as channel-first token views
    (:func:`~mmkem.models.layers.split_tokens`, task-major), the subclass's token-level ``core``
    (``core(tokens, return_attention) -> (outs, attn)``, see :mod:`mmkem.models.layers`) updates
    them, and the result goes back into maps of the same shapes and order. Subclasses only build
    ``self.core``.

    Args:
        in_channels (int): Channels ``C`` of every task map.
        num_tasks (int): Number of task maps ``n``; must be >= 1.
        init_cfg (dict or list[dict], optional): Initialisation config. Defaults to None.

    Shapes:
        - ``feats``: list of ``num_tasks`` tensors ``(B, C, H, W)``, one per task.
        - output: list of ``num_tasks`` tensors of the same shapes, same order; with
          ``return_attention=True`` a tuple ``(outs, attn)``, ``attn`` the core's dict of maps over
          the ``n_s = num_tasks * H * W`` tokens.
    """

    core: nn.Module

    def __init__(self, in_channels: int, num_tasks: int, init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_tasks < 1:
            raise ValueError(f'num_tasks must be >= 1, got {num_tasks}')
        self.in_channels = in_channels
        self.num_tasks = num_tasks

    def _check_feats(self, feats: Sequence[Tensor]) -> None:
        if not isinstance(feats, (list, tuple)):
            raise ValueError(
                f'{type(self).__name__} expects a list of {self.num_tasks} task maps (B, C, H, W), '
                f'got {type(feats).__name__}'
            )
        if len(feats) != self.num_tasks:
            raise ValueError(
                f'{type(self).__name__} was built for num_tasks={self.num_tasks} task maps, '
                f'got {len(feats)}'
            )
        shape = tuple(feats[0].shape)
        for i, feat in enumerate(feats):
            if feat.dim() != 4 or feat.shape[1] != self.in_channels:
                raise ValueError(
                    f'feats[{i}] must be (B, C={self.in_channels}, H, W), got {tuple(feat.shape)}'
                )
            if tuple(feat.shape) != shape:
                raise ValueError(
                    f'all task maps must have the same shape; feats[0] is {shape}, '
                    f'feats[{i}] is {tuple(feat.shape)}'
                )

    def forward(
        self, feats: Sequence[Tensor], return_attention: bool = False
    ) -> Union[List[Tensor], Tuple[List[Tensor], Dict[str, Tensor]]]:
        """Exchange information between the task maps.

        Args:
            feats (Sequence[Tensor]): ``num_tasks`` maps ``(B, C, H, W)`` of equal shape.
            return_attention (bool): Also return the core's attention maps. Defaults to False.

        Returns:
            list[Tensor] or tuple[list[Tensor], dict]: The updated maps, same shapes and order;
            with ``return_attention`` also the attention maps (see the subclass).
        """
        self._check_feats(feats)
        outs, attn = self.core(split_tokens(feats), return_attention=return_attention)
        outs = merge_tokens(outs, feats)
        return (outs, attn) if return_attention else outs
