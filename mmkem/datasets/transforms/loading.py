"""Load a sample's image (``.npy`` releases) and decode the ground truth of every task."""

import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from mmkem.structures import TaskSpec, get_task_spec
from mmkem.utils.image_io import decode_npy_image

from .decoders import (
    DECODER_OPTIONS,
    decoder_options,
    get_annotation_decoder,
    image_shape,
    unreadable_names,
)
from .errors import bad_file

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
    - depth (``.npy``): float32 metres, 0 = invalid; the stored values times the option
      ``rescale_factor`` (default 1; 0.001 for a release in millimetres, as mmseg's
      ``depth_rescale_factor``). float32 (H, W).
    - normals: ``.png`` (3-channel RGB) decodes as ``n = 2 v / 255 - 1``, renormalised to unit
      length; pixels whose decoded length is far from 1 (mid-grey or black) become the all-zero
      invalid vector. ``.npy`` is read as is ((H, W, 3), or (3, H, W) transposed): unit vectors,
      (0, 0, 0) = invalid. float32 (H, W, 3).
    - edge and saliency: ``.png`` with values 0 / 255 (thresholded at 128) or 0 / 1; ``.npy``
      floats thresholded at 0.5. uint8 (H, W) in {0, 1}.

    A ``<task>_path`` of None (the release has no file for this sample) gives a map filled with
    the task's ``ignore_index``; tasks without one raise ``ValueError``.

    Each map is checked: its size must equal the image's (``ori_shape``), labels must lie in
    ``0..num_classes-1`` after the mapping, depth must be finite, non-negative and at most the
    option ``max_depth`` (default 100 m), normals pngs must be RGB and normals arrays unit vectors
    or zero, and a normals file must hold at least one normal (option ``require_valid``). A failed
    check raises :class:`~mmkem.datasets.transforms.errors.BadAnnotationError` (a ``ValueError``)
    naming the file and what was expected (docs/troubleshooting.md).

    ``decoders=dict(edge='seism_boundaries')`` reads a task with the named decoder whatever the
    data info says: the val / test pipelines of the edge benchmark read the ground truth as
    SEISM does (``seg2bmap`` of PASCAL-Context's ``LabelMap``, of NYUD-v2's edge maps;
    docs/metrics.md).

    Decoding options (module docstring of ``mmkem/datasets/transforms/decoders.py``) are given per
    task: ``decode_options=dict(depth=dict(rescale_factor=0.001))`` reads a depth release in
    millimetres, ``dict(depth=dict(max_depth=300.0))`` allows deeper scenes.

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
        decode_options (dict[str, dict], optional): Task name -> options of its decoder (see
            above). Defaults to None (each decoder's defaults).
        decoders (dict[str, str], optional): Task name -> decoder name used instead of the data
            info's ``<task>_decoder`` and the kind's. Defaults to None.
    """

    def __init__(
        self,
        tasks: Optional[Sequence[str]] = None,
        backend_args: Optional[dict] = None,
        decode_options: Optional[Dict[str, dict]] = None,
        decoders: Optional[Dict[str, str]] = None,
    ) -> None:
        self.tasks = None if tasks is None else tuple(tasks)
        self.decoders = dict(decoders or {})
        for task, name in self.decoders.items():
            get_task_spec(task)  # unknown task: KeyError naming the known ones
            get_annotation_decoder(name, f'decoders[{task!r}]')
        self.backend_args = backend_args.copy() if backend_args else None
        self.decode_options = {t: dict(o) for t, o in (decode_options or {}).items()}
        for task, options in self.decode_options.items():
            kind = get_task_spec(task).task_kind  # unknown task: KeyError naming the known ones
            names = {n for d in kind.decoders.values() for n in DECODER_OPTIONS.get(d, {})}
            unknown = sorted(set(options) - names)
            if unknown:
                raise ValueError(
                    f'decode_options[{task!r}]: unknown option(s) {unknown}; the decoders of '
                    f'kind {kind.name!r} take {sorted(names)}'
                )

    def decoder_name(self, spec: TaskSpec, path: str, results: dict) -> str:
        """The name of the decoder that reads ``path`` for task ``spec`` (see the class doc)."""
        name = self.decoders.get(spec.name, results.get(f'{spec.name}_decoder'))
        if name is not None:
            return name
        ext = osp.splitext(path)[1].lower()
        kind = spec.task_kind
        if ext not in kind.decoders:
            raise bad_file(
                path,
                'bad file',
                f'cannot decode a {ext!r} file for task {spec.name!r} (kind {spec.kind!r} reads '
                f'{sorted(kind.decoders)})',
            )
        return kind.decoders[ext]

    def _decode(self, spec: TaskSpec, path: str, results: dict) -> np.ndarray:
        name = self.decoder_name(spec, path, results)
        release = spec.name in self.decoders or results.get(f'{spec.name}_decoder') is not None
        what = f'{spec.name}_decoder' if release else f'kind {spec.kind!r} decoder'
        decoder = get_annotation_decoder(name, what)
        options = decoder_options(
            name, self.decode_options.get(spec.name), f'decode_options[{spec.name!r}]'
        )
        content = fileio.get(path, backend_args=self.backend_args)
        given = dict(results, decode_options=options, decode_task=spec.name)
        if not release:  # the kinds' decoders name the file in their own errors
            return decoder(content, path, given)
        with unreadable_names(path, f'a file for the {name!r} decoder'):
            return decoder(content, path, given)

    def load_task(
        self, results: dict, task: str, shape: Optional[Tuple[int, int]] = None
    ) -> np.ndarray:
        """The ground-truth array of ``task`` for the sample ``results`` (not stored in it).

        Args:
            results (dict): Result dict with ``<task>_path``.
            task (str): The task.
            shape (tuple[int, int], optional): The image's (H, W); the map must have it. None
                skips the size check. Defaults to None.

        Raises:
            BadAnnotationError: The file cannot be used (names it and what was expected).
            KeyError: ``results`` has no ``<task>_path``.
        """
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
            if shape is None:
                shape = image_shape(results)
            return np.full(shape, spec.ignore_index, dtype=np.uint8)
        array = self._decode(spec, path, results)
        if shape is not None and array.shape[:2] != tuple(shape):
            raise bad_file(
                path,
                'size mismatch',
                f'size {array.shape[:2]} differs from the image size {tuple(shape)} '
                f'({results.get("img_path", "image")})',
            )
        return array

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
            results[spec.gt_field] = self.load_task(results, task, shape)
            if spec.gt_field not in seg_fields:
                seg_fields.append(spec.gt_field)
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(tasks={self.tasks}, backend_args={self.backend_args}, '
            f'decode_options={self.decode_options})'
        )
