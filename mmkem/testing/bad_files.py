"""Bad files as users meet them in real downloads, planted into a dataset written by the writers of
:mod:`mmkem.testing.datasets`.

:func:`corrupt_file` turns one good file of a release into a bad one, in place (or removes it);
:func:`plant_problems` plants one corruption per sample of a NYUD-v2-layout split and returns what
it planted, with the problem the loader and ``tools/analysis/check_dataset.py`` must name
(:data:`CORRUPTIONS`).
"""

import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

__all__ = ['CORRUPTIONS', 'corrupt_file', 'plant_problems']

#: corruption -> (the task / file it applies to, the problem it must be reported as).
CORRUPTIONS: Dict[str, Tuple[str, str]] = {
    'remove': ('depth', 'missing file'),
    'truncate': ('semseg', 'unreadable file'),
    'truncate_image': ('img', 'unreadable file'),
    'size_mismatch': ('depth', 'size mismatch'),
    'label_out_of_range': ('semseg', 'label out of range'),
    'depth_nan': ('depth', 'depth not finite or negative'),
    'depth_negative': ('depth', 'depth not finite or negative'),
    'depth_millimetres': ('depth', 'depth implausible'),
    'normals_grey': ('normals', 'normals not RGB'),
    'normals_all_black': ('normals', 'normals all invalid'),
    'normals_not_unit': ('normals', 'normals not unit length'),
    'not_binary': ('edge', 'not binary'),
}


def _truncate(path: str) -> None:
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[: len(data) // 2])


def _normals(path: str) -> np.ndarray:
    """(H, W, 3) float normals of a png (decoded) or ``.npy`` file."""
    if path.endswith('.npy'):
        return np.load(path)
    return 2.0 * cv2.imread(path)[..., ::-1].astype(np.float32) / 255.0 - 1.0


def corrupt_file(path: str, how: str) -> str:
    """Make the release file ``path`` bad in the way ``how`` (a key of :data:`CORRUPTIONS`).

    - ``remove``: delete it; ``truncate`` / ``truncate_image``: keep its first half.
    - ``size_mismatch``: the same format at 5x7 pixels.
    - ``label_out_of_range``: pixel (0, 0) of a label png becomes 41 (NYUD's ids are 1..40).
    - ``depth_nan`` / ``depth_negative``: pixel (0, 0) of a depth ``.npy`` becomes NaN / -1.
    - ``depth_millimetres``: the depth ``.npy`` in millimetres (times 1000).
    - ``normals_grey``: a normals png saved as one grey channel (its luminance).
    - ``normals_all_black``: a normals png (or ``.npy``) of zeros: (-1, -1, -1) once decoded (an
      array of zeros: every pixel invalid).
    - ``normals_not_unit``: normals of length 0.3 (``.npy``; a png cannot hold them).
    - ``not_binary``: an edge png / ``.npy`` with a band of 128 / 0.5 values.

    Returns:
        str: ``path``.
    """
    ext = osp.splitext(path)[1].lower()
    if how == 'remove':
        os.remove(path)
    elif how in ('truncate', 'truncate_image'):
        _truncate(path)
    elif how == 'size_mismatch':
        if ext == '.npy':
            np.save(path, np.ones((5, 7), np.float32))
        else:
            cv2.imwrite(path, np.ones((5, 7), np.uint8))
    elif how == 'label_out_of_range':
        label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        label[0, 0] = 41
        cv2.imwrite(path, label)
    elif how in ('depth_nan', 'depth_negative', 'depth_millimetres'):
        depth = np.load(path)
        if how == 'depth_millimetres':
            depth = depth * 1000.0
        else:
            depth[0, 0] = np.nan if how == 'depth_nan' else -1.0
        np.save(path, depth)
    elif how == 'normals_grey':
        grey = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2GRAY)
        cv2.imwrite(path, grey)
    elif how == 'normals_all_black':
        shape = _normals(path).shape
        if ext == '.npy':
            np.save(path, np.zeros(shape, np.float32))
        else:
            cv2.imwrite(path, np.zeros(shape, np.uint8))
    elif how == 'normals_not_unit':
        if ext != '.npy':
            raise ValueError(f'{path}: a png cannot hold normals that are not unit length')
        np.save(path, 0.3 * np.ones(_normals(path).shape, np.float32) / np.sqrt(3))
    elif how == 'not_binary':
        if ext == '.npy':
            edge = np.load(path)
            edge[: edge.shape[0] // 2] = 0.5
            np.save(path, edge)
        else:
            edge = cv2.imread(path, cv2.IMREAD_UNCHANGED)
            edge[: edge.shape[0] // 2] = 128
            cv2.imwrite(path, edge)
    else:
        raise KeyError(f'unknown corruption {how!r}; known: {sorted(CORRUPTIONS)}')
    return path


def _release_file(root: str, what: str, sample_id: str) -> str:
    folder = dict(img='images', semseg='segmentation').get(what, what)
    names = sorted(n for n in os.listdir(osp.join(root, folder)) if osp.splitext(n)[0] == sample_id)
    if not names:
        raise FileNotFoundError(f'{root}: no {what} file of sample {sample_id!r} in {folder}/')
    return osp.join(root, folder, names[0])


def plant_problems(
    root: str, corruptions: Sequence[str], split: str = 'train'
) -> List[Tuple[str, str, str]]:
    """Plant each corruption in its own sample of ``split`` of the NYUD-v2-layout ``root``.

    Args:
        root (str): A dataset written by :func:`~mmkem.testing.write_tiny_nyud`.
        corruptions (Sequence[str]): Keys of :data:`CORRUPTIONS`, at most one per sample.
        split (str): The split whose samples are corrupted, in id order. Defaults to 'train'.

    Returns:
        list[tuple[str, str, str]]: ``(corruption, path, expected problem)`` per corruption.
    """
    with open(osp.join(root, 'gt_sets', f'{split}.txt')) as f:
        ids = sorted({line.strip() for line in f if line.strip()})
    if len(corruptions) > len(ids):
        raise ValueError(
            f'{len(corruptions)} corruptions need as many samples; {split} has {len(ids)}'
        )
    planted = []
    for how, sample_id in zip(corruptions, ids):
        what, problem = CORRUPTIONS[how]
        path = corrupt_file(_release_file(root, what, sample_id), how)
        planted.append((how, path, problem))
    return planted
