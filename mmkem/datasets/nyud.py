"""NYUD-v2 in the layout of the multi-task releases (semseg, depth, normals, edges)."""

import os.path as osp
from typing import Dict, List

from mmseg.registry import DATASETS

from mmkem.visualization.colorize import voc_palette

from .base import MultiTaskDataset

__all__ = ['NYUD40_CLASSES', 'NYUD_LAYOUT', 'NYUDv2Dataset']

#: The 40 classes of Gupta et al. (2013), in the order of the release's label ids 1..40
#: (train ids 0..39).
# fmt: off
NYUD40_CLASSES = (
    'wall', 'floor', 'cabinet', 'bed', 'chair', 'sofa', 'table', 'door', 'window', 'bookshelf',
    'picture', 'counter', 'blinds', 'desk', 'shelves', 'curtain', 'dresser', 'pillow',
    'mirror', 'floor mat', 'clothes', 'ceiling', 'books', 'refridgerator', 'television',
    'paper', 'towel', 'shower curtain', 'box', 'whiteboard', 'person', 'night stand', 'toilet',
    'sink', 'lamp', 'bathtub', 'bag', 'otherstructure', 'otherfurniture', 'otherprop',
)
# fmt: on


#: The expected folder layout, shown by the errors of :class:`NYUDv2Dataset`.
NYUD_LAYOUT = """\
<data_root>/
├── gt_sets/
│   ├── train.txt          one id per line (795 ids in the official split)
│   └── val.txt            (654 ids)
├── images/<id>.png|.jpg   RGB, 480x640 or 448x576 depending on the release
├── segmentation/<id>.png  uint8, 1..40 = the 40 classes, 0 = void
├── depth/<id>.npy         float32 metres, 0 = invalid
├── normals/<id>.png|.npy  png: n = 2 * v / 255 - 1; npy: float32 (H, W, 3) unit vectors
└── edge/<id>.png|.npy     png: 0 / 255 (or 0 / 1); npy: float32 0 / 1"""

_DEMO_HINT = (
    'No NYUD-v2 at hand? `make demo` builds a small dataset in this exact layout\n'
    '(`python tools/dataset_converters/make_demo_nyud.py --out data/nyud_demo`) and trains on it;\n'
    'point a config at any dataset with `data_root=...` (see docs/datasets.md).'
)


@DATASETS.register_module()
class NYUDv2Dataset(MultiTaskDataset):
    """NYUD-v2 multi-task dataset (Silberman et al. 2012, 40 classes of Gupta et al. 2013).

    Reads both multi-task releases in common use: the 480x640 one (jpg images, normals and edges as
    ``.npy``) and the 448x576 one (png images, normals and edges as ``.png``); the extension of
    each file is found per id, so mixed folders work too. The layout is ``NYUD_LAYOUT``.

    Each item of ``data_list`` holds ``img_path``, one ``<task>_path`` per requested task,
    ``tasks``, ``seg_fields=[]``, ``label_offset=1`` (release id ``v`` becomes train id
    ``v - 1``; 0 (void) becomes 255) and ``num_classes=40``, which
    :class:`~mmkem.datasets.transforms.LoadMultiTaskAnnotations` reads.

    Args:
        data_root (str): Root folder of the release.
        split (str): ``'train'``, ``'val'`` (read ``gt_sets/<split>.txt``) or the path of a list
            of ids (absolute, or relative to ``data_root``). Defaults to ``'train'``.
        tasks (Sequence[str]): Any subset of ``('semseg', 'depth', 'normals', 'edge')``, in the
            order the model uses. Defaults to ``('semseg', 'depth')``.
        pipeline (list): Transforms (configs or callables). Defaults to ``()``.
        test_mode (bool): Passed to ``BaseDataset``. Defaults to False.
        metainfo (dict, optional): Overrides of ``METAINFO``. Defaults to None.
        indices (int | Sequence[int], optional): Use only these items (``BaseDataset``).
            Defaults to None.
        serialize_data (bool): Passed to ``BaseDataset``. Defaults to True.
        lazy_init (bool): Passed to ``BaseDataset``. Defaults to False.
        max_refetch (int): Passed to ``BaseDataset``. Defaults to 1000.
        bad_samples (str): ``'raise'`` or ``'skip'`` (training only): what to do with a sample
            whose files cannot be read (:class:`~mmkem.datasets.MultiTaskDataset`). Defaults to
            ``'raise'``.

    Raises:
        FileNotFoundError: ``data_root``, the split file, or an id's image or label file is
            missing; the message names the path and shows the expected layout.
        ValueError: ``tasks`` is empty or names a task this dataset does not provide.
    """

    METAINFO = dict(
        classes=NYUD40_CLASSES,
        palette=voc_palette(len(NYUD40_CLASSES)),
        tasks=('semseg', 'depth', 'normals', 'edge'),
    )

    #: folder and accepted extensions of each file kind, in order of preference.
    FOLDERS: Dict[str, tuple] = dict(
        img=('images', ('.png', '.jpg', '.jpeg')),
        semseg=('segmentation', ('.png',)),
        depth=('depth', ('.npy',)),
        normals=('normals', ('.png', '.npy')),
        edge=('edge', ('.png', '.npy')),
    )

    LABEL_OFFSET = 1

    DEFAULT_TASKS = ('semseg', 'depth')
    LAYOUT_NAME = 'the NYUD-v2 multi-task layout'
    LAYOUT = NYUD_LAYOUT
    MISSING_ROOT_HINT = _DEMO_HINT
    SPLIT_FILE = osp.join('gt_sets', '{split}.txt')

    def _find(self, kind: str, sample_id: str) -> str:
        """Path of the ``kind`` file of ``sample_id`` (the first accepted extension present)."""
        folder, exts = self.FOLDERS[kind]
        candidates = [osp.join(self.data_root, folder, sample_id + ext) for ext in exts]
        for path in candidates:
            if osp.isfile(path):
                return path
        raise FileNotFoundError(
            f'{type(self).__name__}: id {sample_id!r} of {self.ann_file} has no {kind} file; '
            f'looked for {" or ".join(candidates)}. Expected layout:\n{NYUD_LAYOUT}'
        )

    def load_data_list(self) -> List[dict]:
        """Read the split file and return one dict per id, sorted by id.

        Returns:
            list[dict]: ``img_path``, ``<task>_path`` for each task, ``tasks``, ``seg_fields``,
            ``label_offset``, ``num_classes`` and ``sample_id``.
        """
        ids = self.read_split_ids()
        data_list = []
        for sample_id in ids:
            with self.unless_missing():
                info = dict(
                    sample_id=sample_id,
                    img_path=self._find('img', sample_id),
                    tasks=self.tasks,
                    seg_fields=[],
                    label_offset=self.LABEL_OFFSET,
                    num_classes=len(self.metainfo['classes']),
                )
                for task in self.tasks:
                    info[f'{task}_path'] = self._find(task, sample_id)
                data_list.append(info)
        return data_list
