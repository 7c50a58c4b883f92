"""Normalise and pad a multi-task batch, padding each task's ground truth with its own value."""

from numbers import Number
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor
from mmseg.registry import MODELS
from mmseg.utils import SampleList

from mmkem.structures import TASK_SPECS, get_task_specs

__all__ = ['MultiTaskDataPreProcessor']


@MODELS.register_module()
class MultiTaskDataPreProcessor(BaseDataPreprocessor):
    """mmseg's ``SegDataPreProcessor`` for several tasks (docs/internals.md, step 5).

    Converts BGR to RGB (optional), normalises with ``mean``/``std`` and pads every image of the
    batch at the bottom and right to ``size`` or to the batch's largest size rounded up to
    ``size_divisor``. In training, every ground-truth field of a task spec found on a sample is
    padded by the same amount with the spec's ``pad_value``: 255 (ignore) for labels, 0 (invalid)
    for depth and normals. mmseg's ``stack_batch`` pads ``gt_depth_map`` with 255, which would turn
    padding into valid 255 m depth; this is why the class exists.

    Sets ``img_shape`` (before padding), ``pad_shape``, ``padding_size`` ``(left, right, top,
    bottom)`` and ``batch_input_shape`` on each sample's metainfo. At test time the ground truth
    is left at its original size; the images are padded as ``test_cfg`` says (or, without it, as
    for training) and ``img_padding_size`` is set so that mmseg's ``postprocess_result`` removes
    the padding.

    Args:
        mean (Sequence[Number], optional): Per-channel mean (after the channel conversion).
            Defaults to None (no normalisation).
        std (Sequence[Number], optional): Per-channel std. Defaults to None.
        size (tuple[int, int], optional): Fixed padded size ``(h, w)``. Defaults to None.
        size_divisor (int, optional): Pad to a multiple of this. Defaults to None.
        pad_val (Number): Padding value of the images (after normalisation). Defaults to 0.
        bgr_to_rgb (bool): Swap channels 0 and 2. Defaults to False.
        rgb_to_bgr (bool): Same swap (named for symmetry with mmseg). Defaults to False.
        tasks (Sequence[str], optional): Tasks whose fields are padded; None pads every field of
            a registered task that a sample carries. Defaults to None.
        test_cfg (dict, optional): ``size`` or ``size_divisor`` for test time. Defaults to None.

    Inputs ``data['inputs']``: list of (C, H_i, W_i) tensors. Output ``inputs``: (B, C, H, W).
    """

    def __init__(
        self,
        mean: Optional[Sequence[Number]] = None,
        std: Optional[Sequence[Number]] = None,
        size: Optional[Tuple[int, int]] = None,
        size_divisor: Optional[int] = None,
        pad_val: Number = 0,
        bgr_to_rgb: bool = False,
        rgb_to_bgr: bool = False,
        tasks: Optional[Sequence[str]] = None,
        test_cfg: Optional[dict] = None,
    ) -> None:
        super().__init__()
        if bgr_to_rgb and rgb_to_bgr:
            raise ValueError('bgr_to_rgb and rgb_to_bgr cannot both be True')
        if (mean is None) != (std is None):
            raise ValueError(f'give both mean and std or neither; got mean={mean}, std={std}')
        if size is not None and size_divisor is not None:
            raise ValueError(
                f'give size or size_divisor, not both; got size={size}, size_divisor={size_divisor}'
            )
        if size_divisor is not None and size_divisor < 1:
            raise ValueError(f'size_divisor must be >= 1, got {size_divisor}')
        self.size = None if size is None else tuple(size)
        self.size_divisor = size_divisor
        self.pad_val = pad_val
        self.channel_conversion = bgr_to_rgb or rgb_to_bgr
        self.specs = get_task_specs(tasks) if tasks is not None else None
        self.test_cfg = test_cfg
        self._enable_normalize = mean is not None
        if self._enable_normalize:
            self.register_buffer(
                'mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1), False
            )
            self.register_buffer(
                'std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1), False
            )

    def _padded_size(self, shapes: List[Tuple[int, int]], size, size_divisor) -> Tuple[int, int]:
        """``(h, w)`` every image of the batch is padded to."""
        max_h = max(s[0] for s in shapes)
        max_w = max(s[1] for s in shapes)
        if size is not None:
            return max(size[0], max_h), max(size[1], max_w)
        if size_divisor is not None and size_divisor > 1:
            max_h = -(-max_h // size_divisor) * size_divisor
            max_w = -(-max_w // size_divisor) * size_divisor
        return max_h, max_w

    def _pad_fields(self, data_sample, padding: Tuple[int, int, int, int]) -> None:
        specs = self.specs if self.specs is not None else TASK_SPECS.values()
        for spec in specs:
            field = getattr(data_sample, spec.gt_field, None)
            if field is None:
                continue
            padded = F.pad(field.data, padding, value=spec.pad_value)
            field_type = type(field)
            setattr(data_sample, spec.gt_field, field_type(data=padded, metainfo=field.metainfo))

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        """Normalise, pad and stack ``data['inputs']``; pad the ground truth in training.

        Args:
            data (dict): ``inputs`` (list of (C, H, W) tensors) and ``data_samples``.
            training (bool): Whether the batch is for training. Defaults to False.

        Returns:
            dict: ``inputs`` (B, C, H, W) float and the ``data_samples``.
        """
        data = self.cast_data(data)
        inputs = data['inputs']
        data_samples: Optional[SampleList] = data.get('data_samples', None)
        if self.channel_conversion:
            inputs = [x[[2, 1, 0], ...] if x.size(0) == 3 else x for x in inputs]
        inputs = [x.float() for x in inputs]
        if self._enable_normalize:
            inputs = [(x - self.mean) / self.std for x in inputs]

        size, size_divisor = self.size, self.size_divisor
        if not training and self.test_cfg:
            size = self.test_cfg.get('size', None)
            size_divisor = self.test_cfg.get('size_divisor', None)
        shapes = [tuple(x.shape[-2:]) for x in inputs]
        pad_h, pad_w = self._padded_size(shapes, size, size_divisor)

        padded = []
        for i, x in enumerate(inputs):
            padding = (0, pad_w - x.shape[-1], 0, pad_h - x.shape[-2])
            padded.append(F.pad(x, padding, value=self.pad_val))
            if data_samples is None:
                continue
            sample = data_samples[i]
            if training:
                self._pad_fields(sample, padding)
            sample.set_metainfo(
                dict(
                    img_shape=shapes[i],
                    pad_shape=(pad_h, pad_w),
                    batch_input_shape=(pad_h, pad_w),
                    padding_size=list(padding),
                )
            )
            if not training:
                sample.set_metainfo(dict(img_padding_size=list(padding)))
        return dict(inputs=torch.stack(padded, dim=0), data_samples=data_samples)
