"""Inference of :class:`MultiTaskSegmentor`: whole image or sliding window, flip TTA, predictions.

The segmentor's ``test_cfg`` selects it, as mmseg's ``EncoderDecoder`` does::

    test_cfg=dict(mode='whole')                                         # the default
    test_cfg=dict(mode='slide', crop_size=(448, 576), stride=(300, 400))
    test_cfg=dict(mode='whole', flip=True)                              # + mirrored view

Every task is merged with its own rule, from its task kind (``mmkem/tasks/kinds.py``): a flipped
view is flipped back with :meth:`~mmkem.structures.TaskKind.flip` (a horizontal flip negates the x
of a normal: ``flip_negate``), and where several predictions of a pixel meet (the views of a flip
TTA, overlapping windows) the kind's ``merge`` values are averaged (logits for segmentation, edges
and saliency, metres for depth, unit vectors for normals; the activation renormalises normals).
A single prediction is never changed, so ``mode='slide'`` with one window covering the image gives
exactly ``mode='whole'``.
"""

from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

from mmkem.structures import FLIP_DIMS, TaskKind

__all__ = ['MultiTaskInferenceMixin', 'TEST_CFG_KEYS', 'check_test_cfg', 'slide_windows']

#: The keys of a ``MultiTaskSegmentor`` ``test_cfg`` and their defaults.
TEST_CFG_KEYS = dict(
    mode='whole',
    crop_size=None,
    stride=None,
    flip=False,
    flip_direction='horizontal',
    keep_logits=True,
)
MODES = ('whole', 'slide')


def _pair(value, name: str) -> Tuple[int, int]:
    if isinstance(value, int):
        value = (value, value)
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 2
        or not all(isinstance(v, int) and v >= 1 for v in value)
    ):
        raise ValueError(f'test_cfg.{name} must be an int or (h, w) of ints >= 1, got {value!r}')
    return int(value[0]), int(value[1])


def check_test_cfg(test_cfg: Optional[dict]) -> dict:
    """A ``test_cfg`` with its defaults filled in, checked.

    Args:
        test_cfg (dict, optional): ``mode`` (``'whole'`` | ``'slide'``), ``crop_size`` and
            ``stride`` (int or (h, w); needed by ``'slide'``), ``flip`` (bool: also predict the
            flipped image and merge), ``flip_direction`` (a direction or a list of them:
            ``'horizontal'``, ``'vertical'``, ``'diagonal'``), ``keep_logits`` (bool).

    Returns:
        dict: Every key of :data:`TEST_CFG_KEYS`; ``crop_size`` / ``stride`` as (h, w) tuples,
        ``flip_direction`` as a list.

    Raises:
        ValueError: A key mmkem does not read (named), or a value it cannot use.
    """
    test_cfg = dict(test_cfg or {})
    unknown = sorted(set(test_cfg) - set(TEST_CFG_KEYS))
    if unknown:
        raise ValueError(
            f'MultiTaskSegmentor test_cfg has keys mmkem does not read: {unknown}; the known keys '
            f'are {sorted(TEST_CFG_KEYS)}'
        )
    cfg = {**TEST_CFG_KEYS, **test_cfg}
    if cfg['mode'] not in MODES:
        raise ValueError(f'test_cfg.mode must be one of {MODES}, got {cfg["mode"]!r}')
    if cfg['mode'] == 'slide':
        for name in ('crop_size', 'stride'):
            if cfg[name] is None:
                raise ValueError(f"test_cfg.mode='slide' needs test_cfg.{name} (h, w)")
    for name in ('crop_size', 'stride'):
        if cfg[name] is not None:
            cfg[name] = _pair(cfg[name], name)
    for name in ('flip', 'keep_logits'):
        if not isinstance(cfg[name], bool):
            raise ValueError(f'test_cfg.{name} must be True or False, got {cfg[name]!r}')
    directions = cfg['flip_direction']
    directions = [directions] if isinstance(directions, str) else list(directions)
    bad = [d for d in directions if d not in FLIP_DIMS]
    if not directions or bad:
        raise ValueError(
            f'test_cfg.flip_direction must be one or more of {sorted(FLIP_DIMS)}, got '
            f'{cfg["flip_direction"]!r}'
        )
    cfg['flip_direction'] = directions
    return cfg


def slide_windows(
    height: int, width: int, crop_size: Tuple[int, int], stride: Tuple[int, int]
) -> List[Tuple[int, int, int, int]]:
    """The windows ``(y1, y2, x1, x2)`` of mmseg's slide inference over an (height, width) input.

    Windows start every ``stride`` pixels; the last row and column are moved back to end at the
    border, and a window larger than the input is clipped to it.
    """
    (h_crop, w_crop), (h_stride, w_stride) = crop_size, stride
    h_grids = max(height - h_crop + h_stride - 1, 0) // h_stride + 1
    w_grids = max(width - w_crop + w_stride - 1, 0) // w_stride + 1
    windows = []
    for h_idx in range(h_grids):
        for w_idx in range(w_grids):
            y2 = min(h_idx * h_stride + h_crop, height)
            x2 = min(w_idx * w_stride + w_crop, width)
            windows.append((max(y2 - h_crop, 0), y2, max(x2 - w_crop, 0), x2))
    return windows


def _merge_values(kind: TaskKind, output: Tensor) -> Tensor:
    """The values of ``output`` (B, C, H, W) that are averaged with other predictions."""
    return output if kind.merge is None else kind.merge(output)


class MultiTaskInferenceMixin:
    """Inference methods of :class:`~mmkem.models.segmentors.MultiTaskSegmentor`.

    Needs ``self.tasks``, ``self.specs`` (task -> :class:`~mmkem.structures.TaskSpec`),
    ``self.heads`` (with ``postprocess``), ``self.test_cfg`` (checked by :func:`check_test_cfg`)
    and ``self.encode_decode(inputs, metas)`` (raw outputs per task at the input size).
    """

    def _kind(self, task: str) -> TaskKind:
        return self.specs[task].task_kind

    def whole_inference(self, inputs: Tensor, batch_img_metas: Optional[List[dict]] = None) -> Dict:
        """Raw outputs of the whole (padded) input, ``{task: (B, C_t, H, W)}``."""
        return self.encode_decode(inputs, batch_img_metas)

    def slide_inference(self, inputs: Tensor, batch_img_metas: Optional[List[dict]] = None) -> Dict:
        """Raw outputs stitched from windows of ``test_cfg.crop_size`` every ``test_cfg.stride``.

        Each window is predicted on its own; where windows overlap, the kind's ``merge`` values
        are averaged (mmseg's slide inference, per task). One window covering the input is the
        whole inference.

        Args:
            inputs (Tensor): Images, (B, 3, H, W).
            batch_img_metas (list[dict], optional): The samples' metas (passed on unchanged).

        Returns:
            dict[str, Tensor]: ``{task: (B, C_t, H, W)}``.
        """
        height, width = inputs.shape[-2:]
        windows = slide_windows(height, width, self.test_cfg['crop_size'], self.test_cfg['stride'])
        if len(windows) == 1:  # the window is the whole input
            return self.encode_decode(inputs, batch_img_metas)
        sums: Dict[str, Tensor] = {}
        count = inputs.new_zeros((1, 1, height, width))
        for y1, y2, x1, x2 in windows:
            crop = self.encode_decode(inputs[:, :, y1:y2, x1:x2], batch_img_metas)
            for task, out in crop.items():
                if task not in sums:
                    sums[task] = out.new_zeros(out.shape[:2] + (height, width))
                padding = (x1, width - x2, y1, height - y2)
                sums[task] += F.pad(_merge_values(self._kind(task), out), padding)
            count[:, :, y1:y2, x1:x2] += 1
        if bool((count == 0).any()):
            raise RuntimeError('slide inference left pixels without a window')
        return {task: total / count for task, total in sums.items()}

    def _mode_inference(self, inputs: Tensor, batch_img_metas: Optional[List[dict]] = None) -> Dict:
        if self.test_cfg['mode'] == 'slide':
            return self.slide_inference(inputs, batch_img_metas)
        return self.whole_inference(inputs, batch_img_metas)

    def inference(self, inputs: Tensor, batch_img_metas: Optional[List[dict]] = None) -> Dict:
        """Raw outputs per task at the input size: ``test_cfg.mode``, merged over flips.

        With ``test_cfg.flip``, the input is also predicted flipped along each
        ``flip_direction``; each task's flipped prediction is flipped back by its kind (normals:
        x negated under a horizontal flip) and the kind's ``merge`` values of all views are
        averaged.

        Args:
            inputs (Tensor): Images, (B, 3, H, W).
            batch_img_metas (list[dict], optional): The samples' metas. Defaults to None.

        Returns:
            dict[str, Tensor]: ``{task: (B, C_t, H, W)}``.
        """
        if not self.test_cfg['flip']:
            return self._mode_inference(inputs, batch_img_metas)
        views: Sequence[Union[str, None]] = [None] + list(self.test_cfg['flip_direction'])
        merged: Dict[str, Tensor] = {}
        for direction in views:
            flipped = inputs if direction is None else inputs.flip(dims=FLIP_DIMS[direction])
            for task, out in self._mode_inference(flipped, batch_img_metas).items():
                kind = self._kind(task)
                if direction is not None:
                    out = kind.flip(out, direction)
                out = _merge_values(kind, out)
                merged[task] = out if task not in merged else merged[task] + out
        return {task: total / len(views) for task, total in merged.items()}

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        """Predict every task and store the results on the samples.

        Args:
            inputs (Tensor): Images, (B, 3, H, W).
            data_samples (list[SegDataSample], optional): Samples with their metas
                (``ori_shape``, ``img_shape`` or ``padding_size``, ``flip``). Defaults to None:
                new samples, predictions at the input size.

        Returns:
            list[SegDataSample]: The samples with ``spec.pred_field`` set for every task
            (semseg: (1, H, W) long class ids; depth: (1, H, W) metres; normals: (3, H, W) unit
            vectors; edge / sal: (1, H, W) probabilities) and, with ``test_cfg.keep_logits``,
            ``<task>_logits`` (channels_t, H, W), all at ``ori_shape``.
        """
        batch_img_metas = [s.metainfo for s in data_samples] if data_samples is not None else None
        outputs = self.inference(inputs, batch_img_metas)
        return self.postprocess_result(outputs, data_samples)

    def postprocess_result(
        self, outputs: Dict[str, Tensor], data_samples: OptSampleList = None
    ) -> SampleList:
        """Write each task's prediction onto the samples (see :meth:`predict`).

        Args:
            outputs (dict[str, Tensor]): Raw outputs at the padded input size,
                ``{task: (B, channels_t, H, W)}``.
            data_samples (list[SegDataSample], optional): Defaults to None.

        Returns:
            list[SegDataSample]: The samples, predictions set.
        """
        batch_size = next(iter(outputs.values())).shape[0]
        if data_samples is None:
            data_samples = [SegDataSample() for _ in range(batch_size)]
        keep_logits = self.test_cfg['keep_logits']
        for i, sample in enumerate(data_samples):
            img_meta = sample.metainfo
            for task in self.tasks:
                pred, raw = self.heads[task].postprocess(outputs[task][i], img_meta)
                fields = {self.specs[task].pred_field: PixelData(data=pred)}
                if keep_logits:
                    fields[f'{task}_logits'] = PixelData(data=raw)
                sample.set_data(fields)
        return data_samples
