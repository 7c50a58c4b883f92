"""Colours of task maps: the palette of label ids and the pictures of each kind of map.

Only numpy and OpenCV. Images are RGB uint8 (H, W, 3). Which function draws which task is the
task kind's ``colorize`` entry (``mmkem/tasks/kinds.py``):

- labels: colours from the palette; the ignore label (255) is black.
- depth: the viridis colour map over a value range (the sample's valid ground-truth range, shared
  by ground truth and prediction so they compare); invalid ground truth (``<= 0``) is black.
- normals: ``(n + 1) / 2`` as RGB; all-zero (invalid) ground truth is black.
- probabilities (edge, saliency): grey levels (probability x 255); ignored ground truth (255) is
  mid grey.
"""

from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

__all__ = [
    'IGNORE_GREY',
    'colorize_depth',
    'colorize_labels',
    'colorize_normals',
    'colorize_probability',
    'default_palette',
    'voc_palette',
]


#: Colour of ignored pixels of edge and saliency ground truth.
IGNORE_GREY = (128, 128, 128)


def default_palette(num_classes: int = 256) -> np.ndarray:
    """The PASCAL VOC colour map (bit-interleaved label ids): distinct, deterministic colours.

    Args:
        num_classes (int): Number of colours. Defaults to 256.

    Returns:
        np.ndarray: (num_classes, 3) uint8 RGB; entry 0 is black.
    """
    palette = np.zeros((num_classes, 3), dtype=np.uint8)
    for label in range(num_classes):
        cid, r, g, b = label, 0, 0, 0
        for shift in range(7, -1, -1):
            r |= ((cid >> 0) & 1) << shift
            g |= ((cid >> 1) & 1) << shift
            b |= ((cid >> 2) & 1) << shift
            cid >>= 3
        palette[label] = (r, g, b)
    return palette


def voc_palette(num_classes: int, first_id: int = 1) -> List[List[int]]:
    """Colours of train ids ``0..num_classes-1``: VOC colours ``first_id..first_id+num_classes-1``.

    The datasets' palettes: NYUD-v2's release id ``i`` (train id ``i - 1``) gets VOC colour ``i``
    (``first_id=1``), so void (id 0) would be black.

    Args:
        num_classes (int): Number of colours.
        first_id (int): VOC colour of train id 0. Defaults to 1.

    Returns:
        list[list[int]]: ``num_classes`` RGB triples.
    """
    return default_palette(first_id + num_classes)[first_id:].tolist()


def colorize_labels(
    labels: np.ndarray,
    palette: Sequence[Sequence[int]],
    ignore_index: Optional[int] = 255,
    ignore_color: Tuple[int, int, int] = (0, 0, 0),
) -> np.ndarray:
    """Colour a label map with a palette.

    Args:
        labels (np.ndarray): Integer labels, (H, W) or (1, H, W).
        palette (Sequence): (C, 3) RGB colours; label l gets ``palette[l]``.
        ignore_index (int, optional): Label drawn in ``ignore_color``. Defaults to 255.
        ignore_color (tuple): RGB of ignored pixels and of labels the palette lacks.
            Defaults to black.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB.
    """
    labels = np.asarray(labels).reshape(np.asarray(labels).shape[-2:]).astype(np.int64)
    palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    out = np.empty(labels.shape + (3,), dtype=np.uint8)
    out[:] = ignore_color
    known = (labels >= 0) & (labels < len(palette))
    if ignore_index is not None:
        known &= labels != ignore_index
    out[known] = palette[labels[known]]
    return out


def colorize_depth(
    depth: np.ndarray,
    vmin: float,
    vmax: float,
    invalid: Optional[np.ndarray] = None,
    colormap: int = cv2.COLORMAP_VIRIDIS,
) -> np.ndarray:
    """Colour a depth map with an OpenCV colour map; ``invalid`` pixels are black.

    Args:
        depth (np.ndarray): Depth in metres, (H, W) or (1, H, W).
        vmin (float): Depth shown at the low end of the colour map.
        vmax (float): Depth shown at the high end.
        invalid (np.ndarray, optional): (H, W) bool mask drawn black. Defaults to None.
        colormap (int): OpenCV colour map id. Defaults to ``cv2.COLORMAP_VIRIDIS``.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB.
    """
    depth = np.asarray(depth, dtype=np.float64)
    depth = depth.reshape(depth.shape[-2:])
    scale = max(float(vmax) - float(vmin), 1e-6)
    level = np.clip((np.nan_to_num(depth) - vmin) / scale * 255, 0, 255).astype(np.uint8)
    out = cv2.cvtColor(cv2.applyColorMap(level, colormap), cv2.COLOR_BGR2RGB)
    if invalid is not None:
        out[np.asarray(invalid).reshape(depth.shape)] = 0
    return out


def colorize_normals(normals: np.ndarray) -> np.ndarray:
    """Show unit normals as ``(n + 1) / 2`` RGB; all-zero vectors (invalid) are black.

    Args:
        normals (np.ndarray): (3, H, W) vectors (x, y, z) in [-1, 1].

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB.
    """
    normals = np.asarray(normals, dtype=np.float64)
    if normals.ndim != 3 or normals.shape[0] != 3:
        raise ValueError(f'normals must have shape (3, H, W), got {tuple(normals.shape)}')
    rgb = np.clip((normals.transpose(1, 2, 0) + 1) / 2 * 255 + 0.5, 0, 255).astype(np.uint8)
    rgb[~np.any(normals != 0, axis=0)] = 0
    return rgb


def colorize_probability(prob: np.ndarray, ignore_index: Optional[int] = 255) -> np.ndarray:
    """Grey levels of a probability or {0, 1} label map; ``ignore_index`` pixels are mid grey.

    Args:
        prob (np.ndarray): Values in [0, 1] (or ``ignore_index``), (H, W) or (1, H, W).
        ignore_index (int, optional): Value drawn in :data:`IGNORE_GREY`. Defaults to 255.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB.
    """
    prob = np.asarray(prob, dtype=np.float64)
    prob = prob.reshape(prob.shape[-2:])
    grey = (np.clip(prob, 0, 1) * 255 + 0.5).astype(np.uint8)
    out = np.repeat(grey[..., None], 3, axis=2)
    if ignore_index is not None:
        out[prob == ignore_index] = IGNORE_GREY
    return out
