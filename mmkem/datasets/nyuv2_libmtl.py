"""NYUv2 as preprocessed by MTAN and used by LibMTL and Rep-MTL (13 classes, 288x384, ``.npy``)."""

import os
import os.path as osp
from typing import Dict, List

from mmseg.registry import DATASETS

from mmkem.visualization.colorize import voc_palette

from .base import MultiTaskDataset

__all__ = ['LIBMTL_NYUV2_LAYOUT', 'NYUV2_13_CLASSES', 'LibMTLNYUv2Dataset']

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


@DATASETS.register_module()
class LibMTLNYUv2Dataset(MultiTaskDataset):
    """NYUv2 in the MTAN / LibMTL release used by Rep-MTL: 13 classes, 288x384, ``.npy`` files.

    The layout is ``LIBMTL_NYUV2_LAYOUT``:
    ``<data_root>/<split>/{image,label,depth,normal}/<i>.npy``.
    Items are sorted by the integer ``<i>``. Use
    :class:`~mmkem.datasets.transforms.LoadImageFromNpy` and
    :class:`~mmkem.datasets.transforms.LoadMultiTaskAnnotations` (its segmentation ``.npy`` rule
    reads the train ids, -1 = ignore) as the first two transforms. Each item holds
    ``img_path``, one ``<task>_path`` per task, ``tasks``, ``seg_fields=[]``, ``num_classes=13``
    and ``sample_id``. The configs' ``num_classes = dict(semseg=13)`` sizes the semseg head; the
    metric counts the classes of ``METAINFO``.

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
        bad_samples (str): ``'raise'`` or ``'skip'`` (training only): what to do with a sample
            whose files cannot be read (:class:`~mmkem.datasets.MultiTaskDataset`). Defaults to
            ``'raise'``.

    Raises:
        FileNotFoundError: ``data_root``, the split folder, its ``image`` folder or a sample's file
            of a requested task is missing; the message names the path and shows the layout.
        ValueError: ``tasks`` is empty or names a task this dataset does not provide, or the
            split has no samples.
    """

    METAINFO = dict(
        classes=NYUV2_13_CLASSES,
        palette=voc_palette(len(NYUV2_13_CLASSES)),
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
            with self.unless_missing():
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
