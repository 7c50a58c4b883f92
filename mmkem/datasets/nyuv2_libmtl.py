"""NYUv2 as preprocessed by MTAN and used by LibMTL and Rep-MTL (13 classes, 288x384, ``.npy``)."""

import io
import os
import os.path as osp
from typing import Dict, List, Optional

import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import DATASETS, TRANSFORMS

from mmkem.structures import TaskSpec

from .base import MultiTaskDataset
from .nyud import nyud_palette
from .transforms import LoadMultiTaskAnnotations

__all__ = [
    'LIBMTL_NYUV2_LAYOUT',
    'NYUV2_13_CLASSES',
    'LibMTLNYUv2Dataset',
    'LoadImageFromNpy',
    'LoadLibMTLAnnotations',
]

#: The 13 classes of Couprie et al. (2013) in the order of MTAN's train ids 0..12 (-1 = ignore).
NYUV2_13_CLASSES = (
    'bed', 'books', 'ceiling', 'chair', 'floor', 'furniture', 'objects', 'picture', 'sofa',
    'table', 'tv', 'wall', 'window',
)  # fmt: skip

LIBMTL_NYUV2_LAYOUT = """\
<data_root>/
├── train/                  795 samples in the MTAN / LibMTL release
│   ├── image/<i>.npy       float32 (288, 384, 3) RGB in [0, 1] (uint8 0..255 also accepted)
│   ├── label/<i>.npy       (288, 384) class ids 0..12, -1 = ignore
│   ├── depth/<i>.npy       (288, 384, 1) or (288, 384) metres, 0 = invalid
│   └── normal/<i>.npy      (288, 384, 3) unit vectors, all-zero = invalid
└── val/                    654 samples, same folders
<i> = 0, 1, 2, ... (files are sorted numerically)"""


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
        img = np.load(io.BytesIO(fileio.get(path, backend_args=self.backend_args)))
        if img.ndim != 3 or img.shape[-1] != 3:
            raise ValueError(f'{path}: expected an (H, W, 3) image array, got shape {img.shape}')
        if np.issubdtype(img.dtype, np.floating):
            if not np.isfinite(img).all():
                raise ValueError(f'{path}: the image has non-finite values')
            scale = 255.0 if img.max(initial=0.0) <= 1.0 else 1.0
            img = np.clip(np.rint(img * scale), 0, 255)
        img = img.astype(np.uint8)
        if self.channel_order != self.stored_order:
            img = img[..., ::-1]
        img = np.ascontiguousarray(img)
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
class LoadLibMTLAnnotations(LoadMultiTaskAnnotations):
    """:class:`LoadMultiTaskAnnotations` that also reads segmentation labels from ``.npy``.

    A ``.npy`` label map holds train ids directly (MTAN / LibMTL: 0..12, -1 = ignore); negative
    ids and 255 become 255, ids at or above ``num_classes`` are an error naming the file. Depth and
    normals ``.npy`` files are decoded by the parent class (depth (H, W, 1) is squeezed).
    Keys and arguments: as :class:`LoadMultiTaskAnnotations`.
    """

    def _decode(self, spec: TaskSpec, path: str, results: dict) -> np.ndarray:
        if not (spec.kind == 'segmentation' and path.lower().endswith('.npy')):
            return super()._decode(spec, path, results)
        raw = self._read_npy(path)
        if raw.ndim == 3 and 1 in (raw.shape[0], raw.shape[-1]):
            raw = raw.reshape(raw.shape[1:] if raw.shape[0] == 1 else raw.shape[:2])
        if raw.ndim != 2:
            raise ValueError(f'{path}: expected a (H, W) label map, got shape {raw.shape}')
        if np.issubdtype(raw.dtype, np.floating) and not np.array_equal(raw, np.rint(raw)):
            raise ValueError(f'{path}: label ids must be integers, found fractional values')
        label = raw.astype(np.int64)
        num_classes = results.get('num_classes', spec.channels)
        ignore = (label < 0) | (label == 255)
        bad = (label >= num_classes) & ~ignore
        if bad.any():
            raise ValueError(
                f'{path}: label ids {sorted(np.unique(label[bad]).tolist())[:10]} are out of '
                f'range; expected 0..{num_classes - 1} and -1 (or 255) for ignore'
            )
        label[ignore] = 255
        return label.astype(np.uint8)


@DATASETS.register_module()
class LibMTLNYUv2Dataset(MultiTaskDataset):
    """NYUv2 in the MTAN / LibMTL release used by Rep-MTL: 13 classes, 288x384, ``.npy`` files.

    The layout is ``LIBMTL_NYUV2_LAYOUT``:
    ``<data_root>/<split>/{image,label,depth,normal}/<i>.npy``.
    Items are sorted by the integer ``<i>``. Use :class:`LoadImageFromNpy` and
    :class:`LoadLibMTLAnnotations` as the first two transforms. Each item holds ``img_path``,
    one ``<task>_path`` per task, ``tasks``, ``seg_fields=[]``, ``num_classes=13`` and
    ``sample_id``. Configure the semseg head with ``out_channels=13`` and the metric with
    ``num_classes=dict(semseg=13)`` (the ``semseg`` task spec has the 40 NYUD-v2 classes).

    Args:
        data_root (str): Root folder (the one holding ``train/`` and ``val/``).
        split (str): Sub-folder: ``'train'`` or ``'val'`` (any existing sub-folder is accepted).
            Defaults to ``'train'``.
        tasks (Sequence[str]): Any subset of ``('semseg', 'depth', 'normals')``, in the model's
            order. Defaults to ``('semseg', 'depth', 'normals')`` (Rep-MTL's three tasks).
        pipeline (list): Transforms (configs or callables). Defaults to ``()``.
        test_mode (bool): Passed to ``BaseDataset``. Defaults to False.
        metainfo (dict, optional): Overrides of ``METAINFO``. Defaults to None.
        indices (int | Sequence[int], optional): Use only these items. Defaults to None.
        serialize_data (bool): Passed to ``BaseDataset``. Defaults to True.
        lazy_init (bool): Passed to ``BaseDataset``. Defaults to False.
        max_refetch (int): Passed to ``BaseDataset``. Defaults to 1000.

    Raises:
        FileNotFoundError: ``data_root``, the split folder, its ``image`` folder or a sample's file
            of a requested task is missing; the message names the path and shows the layout.
        ValueError: ``tasks`` is empty or names a task this dataset does not provide, or the
            split has no samples.
    """

    METAINFO = dict(
        classes=NYUV2_13_CLASSES,
        palette=nyud_palette(len(NYUV2_13_CLASSES)),
        tasks=('semseg', 'depth', 'normals'),
    )

    #: sub-folder of each file kind.
    FOLDERS: Dict[str, str] = dict(img='image', semseg='label', depth='depth', normals='normal')

    DEFAULT_TASKS = ('semseg', 'depth', 'normals')
    LAYOUT_NAME = 'the LibMTL NYUv2 layout'
    LAYOUT = LIBMTL_NYUV2_LAYOUT

    def load_data_list(self) -> List[dict]:
        """List ``<split>/image/*.npy`` and pair each with the task files of the same index.

        Returns:
            list[dict]: One dict per sample, sorted by index.
        """
        split_dir = osp.join(self.data_root, self.split)
        image_dir = osp.join(split_dir, self.FOLDERS['img'])
        if not osp.isdir(image_dir):
            raise FileNotFoundError(
                f'{type(self).__name__}: {image_dir} (split={self.split!r}) does not exist. '
                f'Expected layout:\n{LIBMTL_NYUV2_LAYOUT}'
            )
        names = [n[:-4] for n in os.listdir(image_dir) if n.endswith('.npy')]
        if not names:
            raise ValueError(f'{type(self).__name__}: {image_dir} holds no .npy images')
        names.sort(key=lambda n: (0, int(n), n) if n.isdigit() else (1, 0, n))
        num_classes = len(self.metainfo['classes'])
        data_list = []
        for name in names:
            info = dict(
                sample_id=name,
                img_path=osp.join(image_dir, name + '.npy'),
                tasks=self.tasks,
                seg_fields=[],
                num_classes=num_classes,
            )
            for task in self.tasks:
                path = osp.join(split_dir, self.FOLDERS[task], name + '.npy')
                if not osp.isfile(path):
                    raise FileNotFoundError(
                        f'{type(self).__name__}: sample {name!r} has no {task} file {path}. '
                        f'Expected layout:\n{LIBMTL_NYUV2_LAYOUT}'
                    )
                info[f'{task}_path'] = path
            data_list.append(info)
        return data_list
