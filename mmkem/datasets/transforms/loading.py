"""Load a sample's image (``.npy`` releases) and decode the ground truth of every task."""

import os.path as osp
from typing import Optional, Sequence

import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from mmkem.structures import TaskSpec, get_task_spec
from mmkem.utils.image_io import decode_npy_image

from .decoders import get_annotation_decoder, image_shape, unreadable_names

__all__ = ['LoadImageFromNpy', 'LoadMultiTaskAnnotations']


@TRANSFORMS.register_module()
class LoadImageFromNpy(BaseTransform):
    """Load an image stored as a ``.npy`` array (H, W, 3), as LoadImageFromFile would a png.

    Float arrays whose maximum is at most 1 (MTAN / LibMTL store RGB in [0, 1]) are scaled by 255;
    the result is rounded to uint8 and put in ``channel_order`` (BGR by default, like
    ``LoadImageFromFile``, so the usual ``bgr_to_rgb=True`` data preprocessor applies).

    Required Keys:

    - img_path

    Added Keys:

    - img, img_shape, ori_shape

    Args:
        channel_order (str): ``'bgr'`` or ``'rgb'``, the order of the output. Defaults to 'bgr'.
        stored_order (str): Channel order of the stored arrays. Defaults to 'rgb' (MTAN, LibMTL).
        backend_args (dict, optional): mmengine file backend arguments. Defaults to None.
    """

    def __init__(
        self,
        channel_order: str = 'bgr',
        stored_order: str = 'rgb',
        backend_args: Optional[dict] = None,
    ) -> None:
        for name, value in (('channel_order', channel_order), ('stored_order', stored_order)):
            if value not in ('bgr', 'rgb'):
                raise ValueError(f"{name} must be 'bgr' or 'rgb', got {value!r}")
        self.channel_order = channel_order
        self.stored_order = stored_order
        self.backend_args = backend_args.copy() if backend_args else None

    def transform(self, results: dict) -> dict:
        """Read ``results['img_path']`` into ``results['img']`` (H, W, 3) uint8."""
        path = results['img_path']
        content = fileio.get(path, backend_args=self.backend_args)
        img = decode_npy_image(content, path, self.channel_order, self.stored_order)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(channel_order={self.channel_order!r}, '
            f'stored_order={self.stored_order!r})'
        )


@TRANSFORMS.register_module()
class LoadMultiTaskAnnotations(BaseTransform):
    """Load the label map of each task into ``results[spec.gt_field]`` (docs/internals.md, step 2).

    Each file is read by a decoder of
    :data:`~mmkem.datasets.transforms.decoders.ANNOTATION_DECODERS`: the one the data info names
    with ``<task>_decoder`` (a release's own format, e.g. PASCAL-Context's human parts ``.mat``),
    else the one the task kind names for the file's extension (``TaskKind.decoders``):

    - segmentation ``.png``: release id ``v`` becomes train id ``v - label_offset``; ids below
      the offset (NYUD's 0 = void) and 255 become 255 (ignore). ``.npy``: train ids as stored,
      negative ids become 255. uint8 (H, W).
    - depth (``.npy``): float32 metres, 0 = invalid. float32 (H, W).
    - normals: ``.png`` decodes as ``n = 2 v / 255 - 1``, renormalised to unit length; pixels whose
      decoded length is far from 1 (mid-grey or black) become the all-zero invalid vector.
      ``.npy`` is read as is ((H, W, 3), or (3, H, W) transposed). float32 (H, W, 3).
    - edge and saliency: ``.png`` with values 0 / 255 (thresholded at 128) or 0 / 1; ``.npy``
      floats thresholded at 0.5. uint8 (H, W) in {0, 1}.

    A ``<task>_path`` of None (the release has no file for this sample) gives a map filled with
    the task's ``ignore_index``; tasks without one raise ``ValueError``.

    Each map is checked: its size must equal the image's (``ori_shape``), labels must lie in
    ``0..num_classes-1`` after the mapping, depth must be finite and non-negative. A failed check
    raises ``ValueError`` naming the file.

    Required Keys:

    - ``<task>_path`` for each task
    - tasks (unless ``tasks`` is given)
    - ori_shape (or img)
    - label_offset (optional, default 0), num_classes (for label maps: the dataset's classes)
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

    def _decode(self, spec: TaskSpec, path: str, results: dict) -> np.ndarray:
        name = results.get(f'{spec.name}_decoder')
        if name is not None:
            decoder = get_annotation_decoder(name, f'{spec.name}_decoder')
            expected = f'a file for the {name!r} decoder'
        else:
            ext = osp.splitext(path)[1].lower()
            kind = spec.task_kind
            if ext not in kind.decoders:
                raise ValueError(
                    f'{path}: cannot decode a {ext!r} file for task {spec.name!r} (kind '
                    f'{spec.kind!r} reads {sorted(kind.decoders)})'
                )
            decoder = get_annotation_decoder(kind.decoders[ext], f'kind {spec.kind!r} {ext}')
            expected = None
        content = fileio.get(path, backend_args=self.backend_args)
        if expected is None:  # the kinds' decoders name the file in their own errors
            return decoder(content, path, results)
        with unreadable_names(path, expected):
            return decoder(content, path, results)

    def transform(self, results: dict) -> dict:
        """Decode each task's file into ``results[spec.gt_field]``.

        Args:
            results (dict): Result dict with ``<task>_path`` keys.

        Returns:
            dict: ``results`` with one array per task and ``seg_fields`` extended.
        """
        tasks = self.tasks if self.tasks is not None else results['tasks']
        shape = image_shape(results)
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
