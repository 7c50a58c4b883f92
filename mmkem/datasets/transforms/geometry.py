"""Geometric transforms that know each task's geometry (docs/internals.md, step 3).

Every transform draws its random parameters once (``cache_randomness``) and applies them to the
image and to every key of ``results['seg_fields']``. Each field follows its task kind's geometry
(``mmkem/tasks/kinds.py``): it is resampled with the kind's ``interpolation``; rescaling divides the
values of kinds that ``scales_with_zoom`` (depth: an image enlarged by ``s`` looks like a scene
``s`` times closer) by the zoom factor; flipping negates the channels the kind's ``flip_negate``
names for that direction (the flipped axis of the normals).
"""

from typing import Sequence, Tuple, Union

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmseg.registry import TRANSFORMS

from mmkem.structures import spec_of_field

__all__ = ['MultiTaskRandomCrop', 'MultiTaskRandomFlip', 'MultiTaskRandomResize', 'MultiTaskResize']

_DEPTH_SCALING = ('ratio', 'scale_factor', 'none')


def _target_size(shape: Tuple[int, int], scale: Tuple[int, int], keep_ratio: bool) -> tuple:
    """``(w, h)`` of an image of ``shape`` (h, w) resized to ``scale`` (w, h)."""
    h, w = shape
    if keep_ratio:
        return mmcv.rescale_size((w, h), scale)
    return int(scale[0]), int(scale[1])


def _resize(results: dict, size: Tuple[int, int], depth_divisor: float, keep_ratio: bool) -> None:
    """Resize the image and every seg field of ``results`` to ``size`` (w, h), in place."""
    img = results['img']
    h, w = img.shape[:2]
    results['img'] = mmcv.imresize(img, size, interpolation='bilinear', backend='cv2')
    for key in results.get('seg_fields', []):
        spec = spec_of_field(key)
        interpolation = spec.interpolation if spec is not None else 'nearest'
        field = mmcv.imresize(results[key], size, interpolation=interpolation, backend='cv2')
        if spec is not None and spec.task_kind.scales_with_zoom:
            field = field / np.float32(depth_divisor)
        results[key] = field
    w_scale, h_scale = size[0] / w, size[1] / h
    old = results.get('scale_factor', (1.0, 1.0))
    results['img_shape'] = results['img'].shape[:2]
    results['scale_factor'] = (old[0] * w_scale, old[1] * h_scale)
    results['keep_ratio'] = keep_ratio


@TRANSFORMS.register_module()
class MultiTaskResize(BaseTransform):
    """Resize the image and every task's map to a fixed scale.

    A fixed resize is applied identically at training and test time, so by default it leaves the
    depth values alone (the network learns metric depth at that input size, and the test-time
    ground truth stays at the original resolution). ``scale_depth=True`` divides depth by the
    scale factor (the geometric mean of the x and y factors when ``keep_ratio=False``).

    Required Keys:

    - img
    - seg_fields and the fields it names

    Modified Keys:

    - img, img_shape, the fields of seg_fields

    Added Keys:

    - scale_factor (w_scale, h_scale), keep_ratio

    Args:
        scale (tuple[int, int]): Target ``(w, h)``; with ``keep_ratio`` the largest size that fits
            (long edge <= max(scale), short edge <= min(scale)), as ``mmcv.rescale_size``.
        keep_ratio (bool): Keep the aspect ratio. Defaults to True.
        scale_depth (bool): Divide depth by the scale factor. Defaults to False.
    """

    def __init__(
        self, scale: Tuple[int, int], keep_ratio: bool = True, scale_depth: bool = False
    ) -> None:
        if len(scale) != 2 or min(scale) <= 0:
            raise ValueError(f'scale must be a positive (w, h) pair, got {scale!r}')
        self.scale = tuple(scale)
        self.keep_ratio = keep_ratio
        self.scale_depth = scale_depth

    def transform(self, results: dict) -> dict:
        """Resize ``results`` in place and return it."""
        h, w = results['img'].shape[:2]
        size = _target_size((h, w), self.scale, self.keep_ratio)
        divisor = np.sqrt(size[0] / w * size[1] / h) if self.scale_depth else 1.0
        _resize(results, size, divisor, self.keep_ratio)
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(scale={self.scale}, keep_ratio={self.keep_ratio}, '
            f'scale_depth={self.scale_depth})'
        )


@TRANSFORMS.register_module()
class MultiTaskRandomResize(BaseTransform):
    """Resize to ``scale`` times a random ratio drawn uniformly from ``ratio_range``.

    Depth is divided by the zoom. With ``depth_scaling='ratio'`` (default) the zoom is the random
    ratio ``r``: the part of the resize the test pipeline does not repeat, so a base scale that
    differs from the image size (480x640 images, ``scale=(576, 448)``) does not bias depth.
    ``'scale_factor'`` divides by the full factor (geometric mean of x and y); ``'none'`` keeps
    depth. Both are the same when ``scale`` equals the image size.

    Required Keys:

    - img
    - seg_fields and the fields it names

    Modified Keys:

    - img, img_shape, the fields of seg_fields

    Added Keys:

    - scale_factor (w_scale, h_scale), keep_ratio

    Args:
        scale (tuple[int, int]): Base ``(w, h)``.
        ratio_range (tuple[float, float]): ``(min, max)`` of the ratio. Defaults to (0.5, 2.0).
        keep_ratio (bool): Keep the aspect ratio. Defaults to True.
        depth_scaling (str): ``'ratio'``, ``'scale_factor'`` or ``'none'``. Defaults to 'ratio'.
    """

    def __init__(
        self,
        scale: Tuple[int, int],
        ratio_range: Tuple[float, float] = (0.5, 2.0),
        keep_ratio: bool = True,
        depth_scaling: str = 'ratio',
    ) -> None:
        if len(scale) != 2 or min(scale) <= 0:
            raise ValueError(f'scale must be a positive (w, h) pair, got {scale!r}')
        if len(ratio_range) != 2 or not 0 < ratio_range[0] <= ratio_range[1]:
            raise ValueError(
                f'ratio_range must be (min, max) with 0 < min <= max, got {ratio_range!r}'
            )
        if depth_scaling not in _DEPTH_SCALING:
            raise ValueError(
                f'depth_scaling must be one of {_DEPTH_SCALING}, got {depth_scaling!r}'
            )
        self.scale = tuple(scale)
        self.ratio_range = tuple(ratio_range)
        self.keep_ratio = keep_ratio
        self.depth_scaling = depth_scaling

    @cache_randomness
    def _random_ratio(self) -> float:
        return float(np.random.uniform(*self.ratio_range))

    def transform(self, results: dict) -> dict:
        """Resize ``results`` in place by one random ratio and return it."""
        ratio = self._random_ratio()
        h, w = results['img'].shape[:2]
        scale = (int(self.scale[0] * ratio), int(self.scale[1] * ratio))
        size = _target_size((h, w), scale, self.keep_ratio)
        divisors = dict(ratio=ratio, scale_factor=np.sqrt(size[0] / w * size[1] / h), none=1.0)
        divisor = divisors[self.depth_scaling]
        _resize(results, size, divisor, self.keep_ratio)
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(scale={self.scale}, ratio_range={self.ratio_range}, '
            f'keep_ratio={self.keep_ratio}, depth_scaling={self.depth_scaling!r})'
        )


@TRANSFORMS.register_module()
class MultiTaskRandomCrop(BaseTransform):
    """Crop one random window out of the image and every task's map.

    As mmseg's ``RandomCrop``: a window of ``crop_size`` (smaller where the image is smaller);
    with ``cat_max_ratio < 1`` up to 10 windows are drawn until no single class of ``seg_field``
    covers more than that share of the labelled pixels.

    Required Keys:

    - img
    - seg_fields and the fields it names

    Modified Keys:

    - img, img_shape, the fields of seg_fields

    Args:
        crop_size (int | tuple[int, int]): ``(h, w)`` of the window.
        cat_max_ratio (float): Largest share of one class in the window. Defaults to 1.0 (off).
        ignore_index (int): Label left out of ``cat_max_ratio``. Defaults to 255.
        seg_field (str): Field that ``cat_max_ratio`` looks at. Defaults to 'gt_sem_seg'.
    """

    def __init__(
        self,
        crop_size: Union[int, Tuple[int, int]],
        cat_max_ratio: float = 1.0,
        ignore_index: int = 255,
        seg_field: str = 'gt_sem_seg',
    ) -> None:
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        if len(crop_size) != 2 or min(crop_size) <= 0:
            raise ValueError(f'crop_size must be a positive int or (h, w), got {crop_size!r}')
        if not 0 < cat_max_ratio <= 1:
            raise ValueError(f'cat_max_ratio must be in (0, 1], got {cat_max_ratio}')
        self.crop_size = tuple(crop_size)
        self.cat_max_ratio = cat_max_ratio
        self.ignore_index = ignore_index
        self.seg_field = seg_field

    def _random_bbox(self, shape: Sequence[int]) -> Tuple[int, int, int, int]:
        margin_h = max(shape[0] - self.crop_size[0], 0)
        margin_w = max(shape[1] - self.crop_size[1], 0)
        y1 = np.random.randint(0, margin_h + 1)
        x1 = np.random.randint(0, margin_w + 1)
        return y1, y1 + self.crop_size[0], x1, x1 + self.crop_size[1]

    @cache_randomness
    def crop_bbox(self, results: dict) -> Tuple[int, int, int, int]:
        """The window ``(y1, y2, x1, x2)``, one draw for all fields."""
        bbox = self._random_bbox(results['img'].shape)
        if self.cat_max_ratio < 1.0 and self.seg_field in results:
            for _ in range(10):
                y1, y2, x1, x2 = bbox
                labels, counts = np.unique(
                    results[self.seg_field][y1:y2, x1:x2], return_counts=True
                )
                counts = counts[labels != self.ignore_index]
                if len(counts) > 1 and counts.max() / counts.sum() < self.cat_max_ratio:
                    break
                bbox = self._random_bbox(results['img'].shape)
        return bbox

    def transform(self, results: dict) -> dict:
        """Crop ``results`` in place and return it."""
        y1, y2, x1, x2 = self.crop_bbox(results)
        results['img'] = results['img'][y1:y2, x1:x2, ...]
        for key in results.get('seg_fields', []):
            results[key] = results[key][y1:y2, x1:x2, ...]
        results['img_shape'] = results['img'].shape[:2]
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(crop_size={self.crop_size}, '
            f'cat_max_ratio={self.cat_max_ratio}, seg_field={self.seg_field!r})'
        )


@TRANSFORMS.register_module()
class MultiTaskRandomFlip(BaseTransform):
    """Flip the image and every task's map with probability ``prob``.

    Each field's channels named by its kind's ``flip_negate`` change sign: for normals ((H, W, 3),
    x right, y up) x for a horizontal flip, y for a vertical one, both for a diagonal one.

    Required Keys:

    - img
    - seg_fields and the fields it names

    Modified Keys:

    - img, the fields of seg_fields

    Added Keys:

    - flip (bool), flip_direction (str or None)

    Args:
        prob (float): Probability of flipping. Defaults to 0.5.
        direction (str): ``'horizontal'``, ``'vertical'`` or ``'diagonal'``.
            Defaults to 'horizontal'.
    """

    DIRECTIONS = ('horizontal', 'vertical', 'diagonal')

    def __init__(self, prob: float = 0.5, direction: str = 'horizontal') -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        if direction not in self.DIRECTIONS:
            raise ValueError(f'direction must be one of {self.DIRECTIONS}, got {direction!r}')
        self.prob = prob
        self.direction = direction

    @cache_randomness
    def _do_flip(self) -> bool:
        return bool(np.random.rand() < self.prob)

    def transform(self, results: dict) -> dict:
        """Flip ``results`` in place (or not) and return it."""
        flip = self._do_flip()
        results['flip'] = flip
        results['flip_direction'] = self.direction if flip else None
        if not flip:
            return results
        results['img'] = mmcv.imflip(results['img'], direction=self.direction)
        for key in results.get('seg_fields', []):
            field = mmcv.imflip(results[key], direction=self.direction)
            spec = spec_of_field(key)
            negate = spec.task_kind.flip_negate.get(self.direction, ()) if spec else ()
            if negate:
                field = field.copy()
                if field.ndim == 2:  # a one-channel map (H, W): its channel 0 is the map
                    field *= -1 if 0 in negate else 1
                else:  # (H, W, C), channels last
                    field[..., list(negate)] *= -1
            results[key] = field
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob}, direction={self.direction!r})'
