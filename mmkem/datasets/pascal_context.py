"""PASCAL-Context in the layout of the multi-task release (ASTMT's ``PASCAL_MT``).

Five tasks: semantic segmentation (21 classes), human parts (Pascal-Part persons, 6 parts + back-
ground), saliency and surface normals (both distilled pseudo labels of the release) and edges.
Edges and the normals' mask follow ASTMT's loader, which MTI-Net, ATRC, InvPT and TaskPrompter
reuse: edges are ``thin(|Laplacian(LabelMap)| > 0)``, normals count only on the PASCAL-Context
classes NYUD-v2 also labels (:mod:`mmkem.datasets.pascal_context_labels`).
"""

import io
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmseg.registry import DATASETS

from mmkem.visualization.colorize import voc_palette

from .base import MultiTaskDataset
from .pascal_context_labels import normals_valid_labels
from .transforms.decoders import (
    decode_normals_png,
    image_shape,
    register_annotation_decoder,
    unreadable_names,
)
from .transforms.errors import bad_file

__all__ = [
    'HUMAN_PARTS_CLASSES',
    'PASCAL_CONTEXT_CLASSES',
    'PASCAL_CONTEXT_LAYOUT',
    'PASCAL_PART_GROUPS',
    'PASCALContextMTDataset',
    'decode_pascal_part',
    'label_boundaries',
    'mask_normals_to_nyud_classes',
    'thinned_laplacian_edges',
]


def _loadmat(*args, **kwargs):
    """``scipy.io.loadmat``, imported on first use: only PASCAL's .mat files need scipy."""
    import scipy.io

    return scipy.io.loadmat(*args, **kwargs)


#: The 20 PASCAL VOC classes and background: train ids 0..20 of ``semseg/pascal-context``.
# fmt: off
PASCAL_CONTEXT_CLASSES = (
    'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair',
    'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa',
    'train', 'tvmonitor',
)
# fmt: on

#: Train ids 0..6 of the human parts task.
HUMAN_PARTS_CLASSES = (
    'background',
    'head',
    'torso',
    'upper arms',
    'lower arms',
    'upper legs',
    'lower legs',
)

#: Pascal-Part class index of ``person`` (the VOC class order, background = 0).
PERSON_CLASS_IND = 15

#: The 24 Pascal-Part person part names -> the 6 groups (train ids 1..6). The standard grouping of
#: the multi-task literature: ``HUMAN_PART[6]`` of ASTMT's ``fblib/dataloaders/pascal_context.py``
#: (github.com/facebookresearch/astmt), used unchanged by MTI-Net and ATRC.
PASCAL_PART_GROUPS: Dict[str, int] = {
    # head
    'hair': 1, 'head': 1, 'lear': 1, 'rear': 1, 'lebrow': 1, 'rebrow': 1, 'leye': 1, 'reye': 1,
    'mouth': 1, 'nose': 1,
    # torso
    'neck': 2, 'torso': 2,
    # upper arms
    'luarm': 3, 'ruarm': 3,
    # lower arms (hands included)
    'llarm': 4, 'rlarm': 4, 'lhand': 4, 'rhand': 4,
    # upper legs
    'luleg': 5, 'ruleg': 5,
    # lower legs (feet included)
    'llleg': 6, 'rlleg': 6, 'lfoot': 6, 'rfoot': 6,
}  # fmt: skip

#: The expected folder layout, shown by the errors of :class:`PASCALContextMTDataset`.
PASCAL_CONTEXT_LAYOUT = """\
<data_root>/                          (the PASCAL_MT release of ASTMT / MTI-Net)
├── ImageSets/Context/
│   ├── train.txt                     one id per line (4998 ids)
│   └── val.txt                       (5105 ids)
├── JPEGImages/<id>.jpg
├── semseg/pascal-context/<id>.png    uint8, 0 = background, 1..20 = VOC classes, 255 = ignore
├── human_parts/<id>.mat              Pascal-Part annotation (struct 'anno'); optional per id
├── sal_distill/<id>.png              uint8 saliency, > 0.5 * 255 = salient
├── normals_distill/<id>.png          RGB, n = 2 * v / 255 - 1
└── pascal-context/trainval/<id>.mat  full PASCAL-Context 'LabelMap' (459 classes): edges are its
                                      thinned boundaries (else those of semseg/); normals count
                                      only on its classes shared with NYUD-v2 (else set
                                      normals_mask=None)"""


def _as_list(value) -> list:
    """Elements of a ``loadmat(squeeze_me=True)`` field: one struct, an array of them, or none."""
    if isinstance(value, np.ndarray):
        return list(value.ravel())
    return [value]


def _mat_text(value) -> str:
    if isinstance(value, np.ndarray):
        value = value.ravel()[0] if value.size else ''
    return str(value)


def decode_pascal_part(
    source: Union[bytes, str, dict], shape: Tuple[int, int], name: Optional[str] = None
) -> np.ndarray:
    """Human parts label map of one Pascal-Part ``.mat`` annotation.

    Every person (``class_ind == 15``) with part annotations contributes its parts, each mapped by
    :data:`PASCAL_PART_GROUPS` to 1..6; all other pixels of such an image are background (0). An
    image without an annotated person (no person object, or persons without parts, as ASTMT's
    loader) is all 255: ignored by losses and metrics, never background.

    Args:
        source (bytes | str | dict): Content of the file, its path, or the dict ``loadmat``
            returned with ``squeeze_me=True, struct_as_record=False``.
        shape (tuple[int, int]): (H, W) of the image, the size of the all-255 map.
        name (str, optional): File name used in error messages. Defaults to None (``source``
            when it is a path).

    Returns:
        np.ndarray: uint8 (H, W), 0..6 or 255.

    Raises:
        ValueError: No ``anno`` struct, an unknown person part name or a mask of another size.
    """
    if name is None:
        name = source if isinstance(source, str) else '<.mat content>'
    if isinstance(source, dict):
        mat = source
    else:
        stream = io.BytesIO(source) if isinstance(source, bytes) else source
        mat = _loadmat(stream, squeeze_me=True, struct_as_record=False)
    if 'anno' not in mat:
        raise ValueError(f'{name}: expected a Pascal-Part struct "anno"; keys: {sorted(mat)}')
    anno = mat['anno']
    objects = _as_list(getattr(anno, 'objects', []))
    label = None
    for obj in objects:
        if int(np.asarray(obj.class_ind).ravel()[0]) != PERSON_CLASS_IND:
            continue
        parts = _as_list(getattr(obj, 'parts', []))
        if not parts:
            continue
        if label is None:
            label = np.zeros(shape, dtype=np.uint8)
        for part in parts:
            part_name = _mat_text(part.part_name)
            if part_name not in PASCAL_PART_GROUPS:
                raise ValueError(
                    f'{name}: unknown person part {part_name!r}; expected one of '
                    f'{sorted(PASCAL_PART_GROUPS)}'
                )
            mask = np.asarray(part.mask).astype(bool)
            if mask.shape != tuple(shape):
                raise ValueError(
                    f'{name}: mask of part {part_name!r} has size {mask.shape}, the image '
                    f'{tuple(shape)}'
                )
            label[mask] = PASCAL_PART_GROUPS[part_name]
    if label is None:
        return np.full(shape, 255, dtype=np.uint8)
    return label


def label_boundaries(label: np.ndarray) -> np.ndarray:
    """One-pixel boundaries of a label map: pixels whose right or lower neighbour differs.

    Args:
        label (np.ndarray): (H, W) integer labels.

    Returns:
        np.ndarray: uint8 (H, W) in {0, 1}.
    """
    label = np.asarray(label)
    edge = np.zeros(label.shape, dtype=bool)
    edge[:, :-1] |= label[:, :-1] != label[:, 1:]
    edge[:-1, :] |= label[:-1, :] != label[1:, :]
    return edge.astype(np.uint8)


@register_annotation_decoder('pascal_part')
def _pascal_part_decoder(content: bytes, path: str, results: dict) -> np.ndarray:
    try:
        mat = _loadmat(io.BytesIO(content), squeeze_me=True, struct_as_record=False)
    except Exception as err:  # scipy raises several types for broken files
        raise ValueError(f'{path}: cannot read the .mat file ({err})') from err
    return decode_pascal_part(mat, image_shape(results), name=path)


@register_annotation_decoder('half_threshold')
def _half_threshold_decoder(content: bytes, path: str, results: dict) -> np.ndarray:
    """Distilled saliency: ``v / 255 > 0.5`` (ASTMT's ``_load_sal_distilled``)."""
    raw = mmcv.imfrombytes(content, flag='unchanged', backend='pillow')
    raw = raw[..., 0] if raw.ndim == 3 else raw
    return (raw.astype(np.float32) / 255.0 > 0.5).astype(np.uint8)


def thinned_laplacian_edges(label: np.ndarray) -> np.ndarray:
    """Edges of a label map as ASTMT trains on them: ``thin(|Laplacian(label)| > 0)``.

    The 4-neighbour Laplacian (OpenCV's ``Laplacian`` with its default 3x3 aperture [[0, 1, 0],
    [1, -4, 1], [0, 1, 0]] and reflect-101 border) is non-zero on both sides of a label change;
    scikit-image's ``thin`` then reduces the two-pixel band to a one-pixel line. This is
    ``_load_edge`` of ASTMT's ``fblib/dataloaders/pascal_context.py``, used unchanged by MTI-Net,
    ATRC, InvPT and TaskPrompter. The labels are read as float64, which gives the same Laplacian
    as the release's integer ``LabelMap`` (ids are small integers) and accepts any integer dtype.

    Args:
        label (np.ndarray): (H, W) integer labels.

    Returns:
        np.ndarray: uint8 (H, W) in {0, 1}.
    """
    from skimage.morphology import thin  # a runtime requirement; imported here to keep import fast

    laplacian = cv2.Laplacian(np.asarray(label, dtype=np.float64), cv2.CV_64F)
    return thin(np.abs(laplacian) > 0).astype(np.uint8)


def _label_map(content: bytes, path: str) -> np.ndarray:
    """The (H, W) label map of a PASCAL-Context ``.mat`` (``LabelMap``) or of a label ``.png``."""
    if osp.splitext(path)[1].lower() == '.mat':
        mat = _loadmat(io.BytesIO(content))
        if 'LabelMap' not in mat:
            raise ValueError(f'{path}: expected a "LabelMap" variable; keys: {sorted(mat)}')
        return mat['LabelMap']
    label = mmcv.imfrombytes(content, flag='unchanged', backend='pillow')
    return label[..., 0] if label.ndim == 3 else label


@register_annotation_decoder('label_boundaries')
def _label_boundaries_decoder(content: bytes, path: str, results: dict) -> np.ndarray:
    """Edges as one-sided label boundaries of a ``LabelMap`` ``.mat`` or of a label ``.png``."""
    return label_boundaries(_label_map(content, path))


@register_annotation_decoder('thinned_laplacian')
def _thinned_laplacian_decoder(content: bytes, path: str, results: dict) -> np.ndarray:
    """Edges as ASTMT's thinned Laplacian of a ``LabelMap`` ``.mat`` or of a label ``.png``."""
    return thinned_laplacian_edges(_label_map(content, path))


#: ``LabelMap`` ids on which the distilled normals count (ASTMT's ``normals_valid_classes``).
_NORMALS_VALID_LABELS = normals_valid_labels()


def mask_normals_to_nyud_classes(normals: np.ndarray, label_map: np.ndarray) -> np.ndarray:
    """Keep the normals on the ``LabelMap`` classes ASTMT keeps them on; all-zero (invalid) else.

    Args:
        normals (np.ndarray): (H, W, 3) float normals.
        label_map (np.ndarray): (H, W) PASCAL-Context ``LabelMap`` ids (1..459).

    Returns:
        np.ndarray: float32 (H, W, 3), a copy.
    """
    keep = np.isin(np.asarray(label_map), _NORMALS_VALID_LABELS)
    return np.where(keep[..., None], normals, 0.0).astype(np.float32)


@register_annotation_decoder('nyud_class_normals', options=dict(require_valid=True))
def _nyud_class_normals_decoder(content: bytes, path: str, results: dict) -> np.ndarray:
    """Distilled normals (the png rule) kept on the classes shared with NYUD-v2 (ASTMT).

    The sample's ``normals_labelmap_path`` names its ``LabelMap`` ``.mat``. The option
    ``require_valid`` applies to the png, before the mask: a frame may well hold none of the
    classes (a sky and grass picture) and then has no valid normal.
    """
    normals = decode_normals_png(content, path, results)
    labelmap_path = results.get('normals_labelmap_path')
    if labelmap_path is None:
        raise KeyError(
            f'{path}: the nyud_class_normals decoder needs the data info key '
            f'normals_labelmap_path (the LabelMap .mat of the sample)'
        )
    with unreadable_names(labelmap_path, 'a PASCAL-Context LabelMap .mat file'):
        label_map = _label_map(fileio.get(labelmap_path), labelmap_path)
    if label_map.shape != normals.shape[:2]:
        raise bad_file(
            labelmap_path,
            'size mismatch',
            f'LabelMap size {label_map.shape} differs from the normals size '
            f'{normals.shape[:2]} ({path})',
        )
    return mask_normals_to_nyud_classes(normals, label_map)


#: Values of ``PASCALContextMTDataset(edge_gt=...)``: the decoder of each.
EDGE_GT_DECODERS: Dict[str, str] = dict(
    thinned_laplacian='thinned_laplacian',
    label_boundaries='label_boundaries',
)

#: Values of ``PASCALContextMTDataset(normals_mask=...)``: the decoder of each.
NORMALS_MASK_DECODERS: Dict[Optional[str], Optional[str]] = {
    'nyud_classes': 'nyud_class_normals',
    None: None,
}


@DATASETS.register_module()
class PASCALContextMTDataset(MultiTaskDataset):
    """PASCAL-Context multi-task dataset (the release of ASTMT, Maninis et al. 2019).

    Reads the layout ``PASCAL_CONTEXT_LAYOUT``. Each item of ``data_list`` holds ``img_path``,
    one ``<task>_path`` per requested task, ``tasks``, ``seg_fields=[]``, ``label_offset=0``,
    ``num_classes=21`` and the decoders
    :class:`~mmkem.datasets.transforms.LoadMultiTaskAnnotations` uses for this release:

    - ``semseg``: the png as is (0..20, 255 ignore).
    - ``human_parts``: ``human_parts_decoder='pascal_part'`` (:func:`decode_pascal_part`). An id
      without a ``.mat`` file gets ``human_parts_path=None``: no people, all 255.
    - ``sal``: ``sal_decoder='half_threshold'`` (``v / 255 > 0.5``).
    - ``normals``: the loader's png rule, ``2 v / 255 - 1`` (renormalised; black pixels invalid),
      with ``normals_mask='nyud_classes'`` (the default) kept only on the ``LabelMap`` classes
      ASTMT keeps them on (``normals_decoder='nyud_class_normals'``, the sample's
      ``normals_labelmap_path``; :func:`mask_normals_to_nyud_classes`): all-zero (invalid)
      elsewhere, for the loss and the metric alike.
    - ``edge``: with ``edge_gt='thinned_laplacian'`` (the default),
      ``edge_decoder='thinned_laplacian'`` (:func:`thinned_laplacian_edges`, ASTMT's training
      ground truth); with ``'label_boundaries'``, :func:`label_boundaries`. Of
      ``pascal-context/trainval/<id>.mat`` when that folder exists, else of the semseg png.

    Args:
        data_root (str): Root folder of the release.
        split (str): ``'train'``, ``'val'`` (read ``ImageSets/Context/<split>.txt``) or the path
            of a list of ids (absolute, or relative to ``data_root``). Defaults to ``'train'``.
        tasks (Sequence[str]): Any subset of ``('semseg', 'human_parts', 'sal', 'normals',
            'edge')``, in the order the model uses. Defaults to ``('semseg', 'human_parts',
            'sal')`` (the paper's tasks).
        edge_gt (str): ``'thinned_laplacian'`` (ASTMT / MTI-Net / InvPT) or
            ``'label_boundaries'`` (one-sided boundaries, mmkem's earlier rule). Defaults to
            ``'thinned_laplacian'``.
        normals_mask (str, optional): ``'nyud_classes'`` (ASTMT's mask; needs
            ``pascal-context/trainval/``) or None (every decoded normal counts). Defaults to
            ``'nyud_classes'``.
        **kwargs: ``pipeline``, ``test_mode``, ``metainfo``, ``indices``, ``serialize_data``,
            ``lazy_init``, ``max_refetch`` (``BaseDataset``'s) and ``bad_samples`` (``'raise'``
            or ``'skip'``: what training does with a sample whose files cannot be read,
            :class:`~mmkem.datasets.MultiTaskDataset`).

    Raises:
        FileNotFoundError: ``data_root``, the split file, or an id's image or label file is
            missing (a missing human parts ``.mat`` is not an error; a missing ``LabelMap`` is,
            for normals with ``normals_mask='nyud_classes'``); the message names the path and
            shows the expected layout.
        ValueError: ``tasks`` is empty or names a task this dataset does not provide, or
            ``edge_gt`` / ``normals_mask`` is not one of the values above.
    """

    METAINFO = dict(
        classes=PASCAL_CONTEXT_CLASSES,
        palette=voc_palette(len(PASCAL_CONTEXT_CLASSES), first_id=0),
        human_parts_classes=HUMAN_PARTS_CLASSES,
        human_parts_palette=voc_palette(len(HUMAN_PARTS_CLASSES), first_id=0),
        tasks=('semseg', 'human_parts', 'sal', 'normals', 'edge'),
    )

    #: folder and extension of each file kind.
    FOLDERS: Dict[str, Tuple[str, str]] = dict(
        img=('JPEGImages', '.jpg'),
        semseg=(osp.join('semseg', 'pascal-context'), '.png'),
        human_parts=('human_parts', '.mat'),
        sal=('sal_distill', '.png'),
        normals=('normals_distill', '.png'),
        edge=(osp.join('pascal-context', 'trainval'), '.mat'),
        labelmap=(osp.join('pascal-context', 'trainval'), '.mat'),
    )

    DEFAULT_TASKS = ('semseg', 'human_parts', 'sal')
    LAYOUT_NAME = 'the PASCAL-Context multi-task layout'
    LAYOUT = PASCAL_CONTEXT_LAYOUT
    SPLIT_FILE = osp.join('ImageSets', 'Context', '{split}.txt')

    def __init__(
        self,
        data_root: str,
        split: str = 'train',
        tasks: Optional[Sequence[str]] = None,
        edge_gt: str = 'thinned_laplacian',
        normals_mask: Optional[str] = 'nyud_classes',
        **kwargs,
    ) -> None:
        if edge_gt not in EDGE_GT_DECODERS:
            raise ValueError(f'edge_gt must be one of {sorted(EDGE_GT_DECODERS)}, got {edge_gt!r}')
        if normals_mask not in NORMALS_MASK_DECODERS:
            raise ValueError(f"normals_mask must be 'nyud_classes' or None, got {normals_mask!r}")
        self.edge_gt = edge_gt
        self.normals_mask = normals_mask
        #: ``<task>_decoder`` of each task (None: the loader's rule for the file's extension).
        self.decoders: Dict[str, Optional[str]] = dict(
            semseg=None,
            human_parts='pascal_part',
            sal='half_threshold',
            normals=NORMALS_MASK_DECODERS[normals_mask],
            edge=EDGE_GT_DECODERS[edge_gt],
        )
        super().__init__(data_root, split=split, tasks=tasks, **kwargs)

    @property
    def edge_source(self) -> str:
        """``'labelmap'`` when ``pascal-context/trainval`` exists, else ``'semseg'``."""
        folder = osp.join(self.data_root, self.FOLDERS['labelmap'][0])
        return 'labelmap' if osp.isdir(folder) else 'semseg'

    def _path(self, what: str, sample_id: str, required: bool = True) -> Optional[str]:
        """Path of the ``what`` file of ``sample_id``; None when absent and not ``required``."""
        if what == 'edge' and self.edge_source == 'semseg':
            what = 'semseg'
        folder, ext = self.FOLDERS[what]
        path = osp.join(self.data_root, folder, sample_id + ext)
        if osp.isfile(path):
            return path
        if not required:
            return None
        hint = ''
        if what == 'labelmap':
            hint = (
                " (normals_mask='nyud_classes' keeps the distilled normals on the LabelMap's "
                'classes shared with NYUD-v2; normals_mask=None uses every normal, which is not '
                "ASTMT's protocol)"
            )
        raise FileNotFoundError(
            f'{type(self).__name__}: id {sample_id!r} of {self.ann_file} has no {what} file '
            f'{path}{hint}. Expected layout:\n{PASCAL_CONTEXT_LAYOUT}'
        )

    def load_data_list(self) -> List[dict]:
        """Read the split file and return one dict per id, sorted by id.

        Returns:
            list[dict]: ``img_path``, ``<task>_path`` (and ``<task>_decoder`` where the release
            needs one) for each task, ``normals_labelmap_path`` for masked normals, ``tasks``,
            ``seg_fields``, ``label_offset``, ``num_classes`` and ``sample_id``.
        """
        ids = self.read_split_ids()
        data_list = []
        for sample_id in ids:
            with self.unless_missing():
                info = dict(
                    sample_id=sample_id,
                    img_path=self._path('img', sample_id),
                    tasks=self.tasks,
                    seg_fields=[],
                    label_offset=0,
                    num_classes=len(self.metainfo['classes']),
                )
                for task in self.tasks:
                    info[f'{task}_path'] = self._path(
                        task, sample_id, required=task != 'human_parts'
                    )
                    if self.decoders[task] is not None:
                        info[f'{task}_decoder'] = self.decoders[task]
                if 'normals' in self.tasks and self.normals_mask is not None:
                    info['normals_labelmap_path'] = self._path('labelmap', sample_id)
                data_list.append(info)
        return data_list
