"""KEM as a drop-in neck for mmseg's own segmentors: the backbone's levels play the tasks' role.

mmseg's ``EncoderDecoder`` passes the backbone's tuple of maps ``(B, C_i, H_i, W_i)`` (different
widths and sizes) to its ``neck`` and hands the result to any decode head. This neck projects the
chosen levels to one width, lets a token mixer built from the registry (by default the memory of
:class:`~mmkem.models.layers.KEMCore`) read and write the tokens of all of them together
(``n_s = sum H_i W_i``), and adds the projected-back update to each level, so widths, sizes and
order are unchanged and the decode head needs no edit.
"""

from typing import Optional, Sequence, Tuple, Union

import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor, nn

from ..layers import split_tokens

__all__ = ['KEMMultiLevelNeck']


@MODELS.register_module()
class KEMMultiLevelNeck(BaseModule):
    """Multi-level KEM neck: one memory shared by all backbone levels, residual per level.

    For each level ``i`` in ``in_index``::

        x_i = AvgPool_{s_i}(Conv1x1_i(feat_i))                     # (B, C, H_i/s_i, W_i/s_i)
        [x_1', ..., x_n'] = mixer([x_1, ..., x_n])                  # tokens of all levels at once
        out_i = feat_i + Upsample(Conv1x1'_i(x_i' - x_i))           # (B, C_i, H_i, W_i)

    ``mixer`` is a token-level module built from ``MODELS`` with ``embed_dims`` filled in, called
    as ``mixer(tokens)`` on the list of the levels' token views ``(B, N_i, C)`` and returning
    ``(outs, attn)`` with ``outs`` of the same shapes (the contract of :mod:`mmkem.models.layers`):

    - ``dict(type='KEMCore', ...)`` (default): the memory of eqs. 1-3; its Broadcast adds ``w_r F^``
      to its input, so ``x_i' - x_i`` is exactly the memory's update.
    - ``dict(type='KEMCore', etf_mode='feature', num_vertices=K, ...)``: sKEM (eq. 7) in its
      ``'feature'`` reading. The ``'task_axis'`` reading needs segments of equal length and is
      rejected.
    - ``dict(type='TokenCrossAttention', ...)``: the cross-attention baseline of eq. 4 over the
      concatenated tokens.

    Levels not in ``in_index`` are returned unchanged (the same tensor objects).

    Cost: KEM and sKEM are linear in ``n_s`` in time and memory (the core's fast form never
    transposes the channel-first token views); cross-attention is quadratic in ``n_s`` and meant
    only as the paper's baseline on small inputs. For a large first level (stride-4 maps of a
    512x512 crop give 16384 tokens of the ~21800) ``strides`` average-pools that level before the
    memory reads it and upsamples (bilinear) the update back; the residual keeps the full-resolution
    features.

    Args:
        in_channels (Sequence[int]): Channels ``C_i`` of every backbone level, in order.
        embed_dims (int): Common width ``C`` the mixer works at. Defaults to 256.
        in_index (Sequence[int], optional): Levels that take part; the others pass through.
            None means all. Defaults to None.
        strides (int or Sequence[int]): Average-pooling stride per level of ``in_index`` (or one
            for all) applied before the mixer; 1 keeps the level's resolution. Defaults to 1.
        mixer (dict, optional): Config of the token mixer; ``embed_dims`` is filled in (if given
            it must equal ``embed_dims``). None means ``dict(type='KEMCore')`` (``num_slots=20``,
            ``topk=3``, one head). Defaults to None.
        zero_init_output (bool): Zero the output projections, so the neck starts as the identity
            (useful when adding it to a pretrained model); the projections still receive gradients
            from the first step. Defaults to False.
        init_cfg (dict or list[dict], optional): Initialisation config. Defaults to None.

    Shapes:
        - ``inputs``: tuple of ``len(in_channels)`` maps ``(B, C_i, H_i, W_i)``.
        - output: tuple of maps of the same shapes, same order.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        embed_dims: int = 256,
        in_index: Optional[Sequence[int]] = None,
        strides: Union[int, Sequence[int]] = 1,
        mixer: OptConfigType = None,
        zero_init_output: bool = False,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        in_channels = list(in_channels)
        if len(in_channels) == 0 or any(c < 1 for c in in_channels):
            raise ValueError(
                f'in_channels must be a non-empty list of ints >= 1, got {in_channels}'
            )
        in_index = list(range(len(in_channels))) if in_index is None else list(in_index)
        if not in_index or len(set(in_index)) != len(in_index):
            raise ValueError(
                f'in_index must be a non-empty list of distinct levels, got {in_index}'
            )
        if any(not 0 <= i < len(in_channels) for i in in_index):
            raise ValueError(
                f'in_index entries must lie in [0, {len(in_channels)}) (len(in_channels)), '
                f'got {in_index}'
            )
        strides = [strides] * len(in_index) if isinstance(strides, int) else list(strides)
        if len(strides) != len(in_index) or any(s < 1 for s in strides):
            raise ValueError(
                f'strides must be an int >= 1 or one per in_index level ({len(in_index)}), '
                f'got {strides}'
            )
        mixer = self._mixer_cfg(dict(type='KEMCore') if mixer is None else mixer, embed_dims)
        self.in_channels = in_channels
        self.embed_dims = embed_dims
        self.in_index = in_index
        self.strides = strides

        self.proj_in = nn.ModuleList(nn.Conv2d(in_channels[i], embed_dims, 1) for i in in_index)
        self.proj_out = nn.ModuleList(nn.Conv2d(embed_dims, in_channels[i], 1) for i in in_index)
        if zero_init_output:
            for conv in self.proj_out:
                nn.init.zeros_(conv.weight)
                nn.init.zeros_(conv.bias)
        self.mixer = MODELS.build(mixer)

    @staticmethod
    def _mixer_cfg(mixer: ConfigType, embed_dims: int) -> dict:
        """Check the ``mixer`` config and fill in ``embed_dims``."""
        if not isinstance(mixer, dict) or 'type' not in mixer:
            raise ValueError(
                "mixer must be a config dict with a 'type' registered in MODELS, e.g. "
                f"dict(type='KEMCore', num_slots=20, topk=3) or dict(type='TokenCrossAttention'), "
                f'got {mixer!r}'
            )
        mixer = dict(mixer)
        if mixer.get('etf_mode') == 'task_axis':
            raise ValueError(
                "etf_mode='task_axis' needs token segments of equal length, but backbone levels "
                "have different sizes; use etf_mode='feature' (sKEM's 'feature' reading) instead"
            )
        if isinstance(mixer['type'], str) and MODELS.get(mixer['type']) is None:
            raise ValueError(f'mixer type {mixer["type"]!r} is not registered in MODELS')
        if mixer.setdefault('embed_dims', embed_dims) != embed_dims:
            raise ValueError(
                f"mixer embed_dims={mixer['embed_dims']} differs from the neck's "
                f'embed_dims={embed_dims}; leave it out of the mixer config'
            )
        return mixer

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Exchange information between the levels through the memory.

        Args:
            inputs (Sequence[Tensor]): Backbone maps ``(B, C_i, H_i, W_i)``, one per level.

        Returns:
            tuple[Tensor]: Maps of the same shapes; levels outside ``in_index`` unchanged.
        """
        if not isinstance(inputs, (list, tuple)) or len(inputs) != len(self.in_channels):
            raise ValueError(
                f'KEMMultiLevelNeck expects {len(self.in_channels)} maps (one per in_channels '
                f'entry), got {len(inputs) if isinstance(inputs, (list, tuple)) else type(inputs)}'
            )
        for i in self.in_index:
            feat = inputs[i]
            if feat.dim() != 4 or feat.shape[1] != self.in_channels[i]:
                raise ValueError(
                    f'inputs[{i}] must be (B, C={self.in_channels[i]}, H, W), '
                    f'got {tuple(feat.shape)}'
                )
        maps = []
        for proj, stride, i in zip(self.proj_in, self.strides, self.in_index):
            x = proj(inputs[i])
            if stride > 1:
                x = F.avg_pool2d(x, stride, stride, ceil_mode=True)
            maps.append(x)
        mixed, _ = self.mixer(split_tokens(maps))  # the levels' tokens, same lengths back
        outs = list(inputs)
        for proj, x, tok, i in zip(self.proj_out, maps, mixed, self.in_index):
            update = proj(tok.mT.reshape(x.shape) - x)  # update at the pooled size
            if update.shape[-2:] != inputs[i].shape[-2:]:
                update = F.interpolate(
                    update, size=inputs[i].shape[-2:], mode='bilinear', align_corners=False
                )
            outs[i] = inputs[i] + update
        return tuple(outs)
