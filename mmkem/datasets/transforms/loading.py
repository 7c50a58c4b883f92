"""Decode the ground truth of every task of a sample from its files."""

import contextlib
import io
import os.path as osp
from typing import Callable, Dict, Iterator, Optional, Sequence, Tuple

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from mmkem.structures import TaskSpec, get_task_spec

__all__ = ['ANNOTATION_DECODERS', 'LoadMultiTaskAnnotations', 'register_annotation_decoder']

#: Named decoders for release-specific files (PASCAL-Part ``.mat``, ...): ``name -> fn(content,
#: path, shape)`` with ``content`` the file's bytes and ``shape`` the image's (H, W); ``fn``
#: returns the array of the task's ``gt_field``. A dataset selects one per task with the data-info
#: key ``<task>_decoder``.
ANNOTATION_DECODERS: Dict[str, Callable[[bytes, str, Tuple[int, int]], np.ndarray]] = {}


def register_annotation_decoder(name: str) -> Callable:
    """Add ``fn(content, path, shape) -> np.ndarray`` to :data:`ANNOTATION_DECODERS` as ``name``."""

    def _register(fn: Callable) -> Callable:
        if name in ANNOTATION_DECODERS and ANNOTATION_DECODERS[name] is not fn:
            raise KeyError(f'annotation decoder {name!r} is already registered')
        ANNOTATION_DECODERS[name] = fn
        return fn

    return _register


@contextlib.contextmanager
def _unreadable_names(path: str, expected: str) -> Iterator[None]:
    """Turn a decoder's own error (truncated or corrupt file) into a ValueError naming ``path``.

    Errors that already name the file (our ValueErrors start with it) pass through unchanged.
    """
    try:
        yield
    except Exception as err:
        if isinstance(err, ValueError) and str(err).startswith(path):
            raise
        raise ValueError(
            f'{path}: cannot read this file as {expected} ({type(err).__name__}: {err}); it may '
            f'be truncated or corrupt'
        ) from err


def _as_2d(array: np.ndarray, path: str) -> np.ndarray:
    """(H, W) from (H, W), (1, H, W) or (H, W, 1); ValueError naming ``path`` otherwise."""
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    elif array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise ValueError(f'{path}: expected a (H, W) map, got shape {array.shape}')
    return array


@TRANSFORMS.register_module()
class LoadMultiTaskAnnotations(BaseTransform):
    """Load the label map of each task into ``results[spec.gt_field]`` (docs/internals.md, step 2).

    Decoding follows the task's kind and the file's extension:

    - segmentation (``.png``): release id ``v`` becomes train id ``v - label_offset``; ids below
      the offset (NYUD's 0 = void) and 255 become 255 (ignore). uint8 (H, W).
    - depth (``.npy``): float32 metres, 0 = invalid. float32 (H, W).
    - normals: ``.png`` decodes as ``n = 2 v / 255 - 1``, renormalised to unit length; pixels whose
      decoded length is far from 1 (mid-grey or black) become the all-zero invalid vector.
      ``.npy`` is read as is ((H, W, 3), or (3, H, W) transposed). float32 (H, W, 3).
    - edge and saliency: ``.png`` with values 0 / 255 (thresholded at 128) or 0 / 1; ``.npy``
      floats thresholded at 0.5. uint8 (H, W) in {0, 1}.

    A dataset can name a decoder of :data:`ANNOTATION_DECODERS` per task with the data-info key
    ``<task>_decoder`` (PASCAL-Context's human parts ``.mat`` files); it replaces the rules above.
    A ``<task>_path`` of None (the release has no file for this sample) gives a map filled with
    the task's ``ignore_index``; tasks without one raise ``ValueError``.

    Each map is checked: its size must equal the image's (``ori_shape``), labels must lie in
    ``0..num_classes-1`` after the mapping, depth must be finite and non-negative. A failed check
    raises ``ValueError`` naming the file.

    Required Keys:

    - ``<task>_path`` for each task
    - tasks (unless ``tasks`` is given)
    - ori_shape (or img)
    - label_offset (optional, default 0), num_classes (optional, default ``spec.channels``)
    - ``<task>_decoder`` (optional): name of a decoder in :data:`ANNOTATION_DECODERS`

    Modified Keys:

    - seg_fields

    Added Keys:

    - ``spec.gt_field`` of each task (``gt_sem_seg``, ``gt_depth_map``, ``gt_normals``, ...)

    Args:
        tasks (Sequence[str], optional): Tasks to load; None loads ``results['tasks']``.
            Defaults to None.
        backend_args (dict, optional): mmengine file backend arguments. Defaults to None.
    """

    def __init__(
        self, tasks: Optional[Sequence[str]] = None, backend_args: Optional[dict] = None
    ) -> None:
        self.tasks = None if tasks is None else tuple(tasks)
        self.backend_args = backend_args.copy() if backend_args else None

    def _read_png(self, path: str, color: bool = False) -> np.ndarray:
        content = fileio.get(path, backend_args=self.backend_args)
        with _unreadable_names(path, 'an image'):
            if color:
                array = mmcv.imfrombytes(content, flag='color', channel_order='rgb', backend='cv2')
            else:
                array = mmcv.imfrombytes(content, flag='unchanged', backend='pillow')
            if array is None:  # cv2 returns None for undecodable bytes
                raise ValueError('the decoder returned nothing')
        return array[..., 0] if array.ndim == 3 and not color else array

    def _read_npy(self, path: str) -> np.ndarray:
        content = fileio.get(path, backend_args=self.backend_args)
        with _unreadable_names(path, 'a .npy array (np.save, no pickled objects)'):
            return np.load(io.BytesIO(content))

    def _decode(self, spec: TaskSpec, path: str, results: dict) -> np.ndarray:
        decoder = results.get(f'{spec.name}_decoder')
        if decoder is not None:
            if decoder not in ANNOTATION_DECODERS:
                raise KeyError(
                    f'{spec.name}_decoder={decoder!r} is not a registered annotation decoder; '
                    f'known: {sorted(ANNOTATION_DECODERS)}'
                )
            shape = tuple(
                results['ori_shape'][:2] if 'ori_shape' in results else results['img'].shape[:2]
            )
            content = fileio.get(path, backend_args=self.backend_args)
            with _unreadable_names(path, f'a file for the {decoder!r} decoder'):
                return ANNOTATION_DECODERS[decoder](content, path, shape)
        ext = osp.splitext(path)[1].lower()
        if spec.kind == 'segmentation' and ext == '.png':
            raw = self._read_png(path).astype(np.int64)
            offset = results.get('label_offset', 0)
            num_classes = results.get('num_classes', spec.channels)
            label = raw - offset
            label[(raw < offset) | (raw == 255)] = 255
            bad = (label >= num_classes) & (label != 255)
            if bad.any():
                raise ValueError(
                    f'{path}: label ids {sorted(np.unique(raw[bad]).tolist())[:10]} are out of '
                    f'range; expected {offset}..{offset + num_classes - 1} (and 0..{offset - 1} '
                    f'or 255 for void)'
                )
            return label.astype(np.uint8)
        if spec.kind == 'depth' and ext == '.npy':
            depth = _as_2d(self._read_npy(path), path).astype(np.float32)
            if not np.isfinite(depth).all() or (depth < 0).any():
                raise ValueError(
                    f'{path}: depth must be finite and >= 0 (0 = invalid); found '
                    f'{int((~np.isfinite(depth)).sum())} non-finite and '
                    f'{int((depth < 0).sum())} negative values'
                )
            return depth
        if spec.kind == 'normals' and ext in ('.png', '.npy'):
            if ext == '.png':
                normals = 2.0 * self._read_png(path, color=True).astype(np.float32) / 255.0 - 1.0
                length = np.linalg.norm(normals, axis=-1, keepdims=True)
                valid = (length > 0.5) & (length < 1.5)
                normals = np.where(valid, normals / np.maximum(length, 1e-6), 0.0)
            else:
                normals = self._read_npy(path).astype(np.float32)
                if normals.ndim == 3 and normals.shape[0] == 3 and normals.shape[-1] != 3:
                    normals = normals.transpose(1, 2, 0)
            if normals.ndim != 3 or normals.shape[-1] != 3 or not np.isfinite(normals).all():
                raise ValueError(
                    f'{path}: normals must be finite with shape (H, W, 3); got {normals.shape}'
                )
            return np.ascontiguousarray(normals, dtype=np.float32)
        if spec.kind in ('edge', 'saliency') and ext in ('.png', '.npy'):
            if ext == '.png':
                raw = self._read_png(path)
                binary = raw >= 128 if raw.max(initial=0) > 1 else raw > 0
            else:
                binary = _as_2d(self._read_npy(path), path) >= 0.5
            return binary.astype(np.uint8)
        raise ValueError(
            f'{path}: cannot decode a {ext!r} file for task {spec.name!r} (kind {spec.kind!r})'
        )

    def transform(self, results: dict) -> dict:
        """Decode each task's file into ``results[spec.gt_field]``.

        Args:
            results (dict): Result dict with ``<task>_path`` keys.

        Returns:
            dict: ``results`` with one array per task and ``seg_fields`` extended.
        """
        tasks = self.tasks if self.tasks is not None else results['tasks']
        shape = tuple(
            results['ori_shape'][:2] if 'ori_shape' in results else results['img'].shape[:2]
        )
        seg_fields = results.setdefault('seg_fields', [])
        for task in tasks:
            spec = get_task_spec(task)
            key = f'{task}_path'
            if key not in results:
                raise KeyError(
                    f'{type(self).__name__}: results has no {key!r} for task '
                    f'{task!r}; the dataset must provide one path per task'
                )
            path = results[key]
            if path is None:
                if spec.ignore_index is None:
                    raise ValueError(
                        f'{type(self).__name__}: {key} is None but task {task!r} has no '
                        f'ignore_index to fill the map with'
                    )
                array = np.full(shape, spec.ignore_index, dtype=np.uint8)
            else:
                array = self._decode(spec, path, results)
            if array.shape[:2] != shape:
                raise ValueError(
                    f'{path}: size {array.shape[:2]} differs from the image size '
                    f'{shape} ({results.get("img_path", "image")})'
                )
            results[spec.gt_field] = array
            if spec.gt_field not in seg_fields:
                seg_fields.append(spec.gt_field)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(tasks={self.tasks}, backend_args={self.backend_args})'
