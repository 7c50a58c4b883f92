"""Prediction files: every task's prediction of an image as ``DIR/<task>/<image stem>.<ext>``.

What ``tools/test.py --out``, ``tools/infer.py`` and :class:`~mmkem.apis.MultiTaskInferencer`
write, and what tools reading predictions back (edge benchmarks, comparisons) read. The format of
each task is its task kind's (``save_prediction`` / ``load_prediction`` in ``mmkem/tasks/kinds.py``,
made of the functions below):

========================  ==================================================================
kind                      files
========================  ==================================================================
segmentation              ``<stem>.png``: uint8 train ids (one grey level per class)
depth                     ``<stem>.png``: uint16 millimetres (0 = none), ``<stem>.npy``: float32
                          metres (H, W), exact
normals                   ``<stem>.npy``: float32 (3, H, W) unit vectors (x, y, z), exact;
                          ``<stem>.png``: ``(n + 1) / 2`` as RGB, for viewing
saliency, edge            ``<stem>.png``: uint8 ``round(probability * 255)``; ``<stem>.npy``:
                          float32 probabilities (H, W), exact
a kind without an entry   ``<stem>.npy``: the (C, H, W) prediction as float32
========================  ==================================================================

Readers prefer the exact ``.npy`` where a kind writes one and fall back to the PNG.
"""

import os
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence

import cv2
import numpy as np

from mmkem.structures import get_field, get_task_spec, pixel_array

__all__ = [
    'image_stem',
    'load_depth',
    'load_labels',
    'load_normals',
    'load_prediction',
    'load_predictions',
    'load_probability',
    'prediction_stem',
    'predictions_of',
    'save_depth',
    'save_labels',
    'save_normals',
    'save_prediction',
    'save_predictions',
    'save_probability',
]

#: Largest depth a 16-bit millimetre PNG holds, in metres.
MAX_PNG_DEPTH = 65.535


def _plane(pred: np.ndarray, what: str) -> np.ndarray:
    pred = np.asarray(pred)
    if pred.ndim == 3 and pred.shape[0] == 1:
        pred = pred[0]
    if pred.ndim != 2:
        raise ValueError(f'{what}: expected a (1, H, W) or (H, W) map, got shape {pred.shape}')
    return pred


def _write_png(path: str, array: np.ndarray) -> str:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if not cv2.imwrite(path, array):
        raise OSError(f'could not write {path}')
    return path


def _read_png(path: str, flag: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    if not osp.isfile(path):
        raise FileNotFoundError(f'prediction file {path} does not exist')
    array = cv2.imread(path, flag)
    if array is None:
        raise ValueError(f'{path}: cannot decode this file as a PNG')
    return array


def _write_npy(path: str, array: np.ndarray) -> str:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    np.save(path, np.ascontiguousarray(array, dtype=np.float32))
    return path


def save_labels(pred: np.ndarray, stem: str) -> List[str]:
    """Class ids (1, H, W) as an 8-bit PNG ``<stem>.png`` of train ids."""
    labels = _plane(pred, stem)
    if labels.size and (labels.min() < 0 or labels.max() > 255):
        raise ValueError(
            f'{stem}: class ids must be in [0, 255] for an 8-bit label PNG, got '
            f'[{labels.min()}, {labels.max()}]'
        )
    return [_write_png(stem + '.png', labels.astype(np.uint8))]


def load_labels(stem: str) -> np.ndarray:
    """(1, H, W) int64 class ids from ``<stem>.png``."""
    return _read_png(stem + '.png', cv2.IMREAD_GRAYSCALE).astype(np.int64)[None]


def save_depth(pred: np.ndarray, stem: str) -> List[str]:
    """Depth in metres (1, H, W) as ``<stem>.npy`` (metres) and a 16-bit PNG of millimetres.

    The PNG rounds to the millimetre and holds at most 65.535 m (larger depths are clipped).
    """
    depth = _plane(pred, stem).astype(np.float32)
    millimetres = np.clip(np.rint(np.nan_to_num(depth) * 1000.0), 0, 65535).astype(np.uint16)
    return [_write_npy(stem + '.npy', depth), _write_png(stem + '.png', millimetres)]


def load_depth(stem: str) -> np.ndarray:
    """(1, H, W) float32 metres from ``<stem>.npy``, else from the millimetre PNG."""
    if osp.isfile(stem + '.npy'):
        return np.load(stem + '.npy').astype(np.float32)[None]
    return (_read_png(stem + '.png').astype(np.float32) / 1000.0)[None]


def save_normals(pred: np.ndarray, stem: str) -> List[str]:
    """Normals (3, H, W) as ``<stem>.npy`` and ``(n + 1) / 2`` RGB in ``<stem>.png``."""
    normals = np.asarray(pred, dtype=np.float32)
    if normals.ndim != 3 or normals.shape[0] != 3:
        raise ValueError(f'{stem}: expected normals of shape (3, H, W), got {normals.shape}')
    rgb = np.clip((normals.transpose(1, 2, 0) + 1) / 2 * 255 + 0.5, 0, 255).astype(np.uint8)
    return [_write_npy(stem + '.npy', normals), _write_png(stem + '.png', rgb[..., ::-1])]


def load_normals(stem: str) -> np.ndarray:
    """(3, H, W) float32 normals from ``<stem>.npy``, else from the RGB PNG (renormalised)."""
    if osp.isfile(stem + '.npy'):
        return np.load(stem + '.npy').astype(np.float32)
    rgb = _read_png(stem + '.png', cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32)
    normals = (rgb / 255.0 * 2 - 1).transpose(2, 0, 1)
    return normals / np.maximum(np.linalg.norm(normals, axis=0, keepdims=True), 1e-12)


def save_probability(pred: np.ndarray, stem: str) -> List[str]:
    """Probabilities (1, H, W) as ``<stem>.png`` (``round(p * 255)``, uint8) and ``<stem>.npy``."""
    prob = _plane(pred, stem).astype(np.float32)
    grey = np.clip(np.rint(prob * 255.0), 0, 255).astype(np.uint8)
    return [_write_png(stem + '.png', grey), _write_npy(stem + '.npy', prob)]


def load_probability(stem: str) -> np.ndarray:
    """(1, H, W) float32 probabilities from ``<stem>.npy``, else from the PNG (/ 255)."""
    if osp.isfile(stem + '.npy'):
        return np.load(stem + '.npy').astype(np.float32)[None]
    return (_read_png(stem + '.png', cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0)[None]


def image_stem(img_path: Optional[str], index: int) -> str:
    """The file name of an image without its extension, or ``'{index:05d}'`` without a path."""
    if not img_path:
        return f'{index:05d}'
    return osp.splitext(osp.basename(str(img_path)))[0]


def prediction_stem(out_dir: str, task: str, stem: str) -> str:
    """``<out_dir>/<task>/<stem>``: the path of a prediction without its extension."""
    return osp.join(out_dir, task, stem)


def save_prediction(task: str, pred: np.ndarray, out_dir: str, stem: str) -> List[str]:
    """Write one task's prediction (C, H, W) with its kind's format; return the files."""
    kind = get_task_spec(task).task_kind
    path = prediction_stem(out_dir, task, stem)
    if kind.save_prediction is None:
        return [_write_npy(path + '.npy', np.asarray(pred))]
    return list(kind.save_prediction(np.asarray(pred), path))


def load_prediction(task: str, out_dir: str, stem: str) -> np.ndarray:
    """Read back what :func:`save_prediction` wrote: the (C, H, W) prediction."""
    kind = get_task_spec(task).task_kind
    path = prediction_stem(out_dir, task, stem)
    if kind.load_prediction is None:
        if not osp.isfile(path + '.npy'):
            raise FileNotFoundError(f'prediction file {path}.npy does not exist')
        return np.load(path + '.npy')
    return kind.load_prediction(path)


def predictions_of(data_sample, tasks: Sequence[str]) -> Dict[str, np.ndarray]:
    """The predictions of ``tasks`` on a ``SegDataSample`` (or its ``to_dict()`` form).

    Returns:
        dict[str, np.ndarray]: ``{task: (C, H, W) array}`` from each task's ``pred_field``.

    Raises:
        KeyError: A task has no prediction on the sample.
    """
    preds = {}
    for task in tasks:
        field = get_task_spec(task).pred_field
        value = get_field(data_sample, field)
        if value is None:
            raise KeyError(f'the data sample has no {field!r} (prediction of task {task!r})')
        preds[task] = pixel_array(value, field)
    return preds


def save_predictions(
    preds: Mapping[str, np.ndarray], out_dir: str, stem: str
) -> Dict[str, List[str]]:
    """Write every task's prediction of one image: ``{task: written files}``."""
    return {task: save_prediction(task, pred, out_dir, stem) for task, pred in preds.items()}


def load_predictions(out_dir: str, stem: str, tasks: Sequence[str]) -> Dict[str, np.ndarray]:
    """Read the predictions of one image for ``tasks``: ``{task: (C, H, W) array}``."""
    return {task: load_prediction(task, out_dir, stem) for task in tasks}
