"""Pictures of predictions on images without ground truth (the inferencer's visualisations).

One picture per task, drawn by its task kind's ``picture`` entry (``mmkem/tasks/kinds.py``) with
the colours of :mod:`mmkem.visualization.colorize`:

- labels: the colour map, the colour map over the image, and a legend of the classes present
  (largest first);
- depth: the colour map with a colour bar in metres;
- normals: ``(n + 1) / 2`` as RGB;
- probabilities (edge, saliency): a heat map with a colour bar from 0 to 1.

:func:`render_prediction` picks the kind's entry (the kind's ``colorize`` where it has none) and
:func:`prediction_panel` stacks the image and every task's picture. Only numpy and OpenCV; images
are RGB uint8 (H, W, 3).
"""

from typing import Mapping, Optional, Sequence, Tuple

import cv2
import numpy as np

from mmkem.structures import get_task_spec

from .colorize import colorize_depth, colorize_labels, colorize_normals, default_palette

__all__ = [
    'color_bar',
    'depth_picture',
    'label_picture',
    'legend',
    'normals_picture',
    'prediction_panel',
    'probability_picture',
    'render_prediction',
]

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_BACKGROUND = 32


def _text(canvas: np.ndarray, text: str, org: Tuple[int, int], scale: float) -> None:
    thickness = max(int(round(scale * 2)), 1)
    cv2.putText(canvas, text, org, _FONT, scale, (255, 255, 255), thickness, cv2.LINE_AA)


def _font_scale(height: int) -> float:
    return float(np.clip(height / 480.0, 0.3, 0.8))


def color_bar(
    height: int,
    vmin: float,
    vmax: float,
    unit: str = 'm',
    colormap: int = cv2.COLORMAP_VIRIDIS,
    ticks: int = 5,
) -> np.ndarray:
    """A vertical colour bar (``vmax`` at the top) with ``ticks`` labelled values.

    Args:
        height (int): Height in pixels (the picture's).
        vmin (float): Value at the bottom.
        vmax (float): Value at the top.
        unit (str): Appended to the labels (``'m'``). Defaults to ``'m'``.
        colormap (int): OpenCV colour map. Defaults to viridis (the depth colours).
        ticks (int): Number of labels. Defaults to 5.

    Returns:
        np.ndarray: (height, w, 3) uint8 RGB.
    """
    scale = _font_scale(height)
    bar_w = max(int(height * 0.05), 8)
    label_w = int(90 * scale / 0.5)
    canvas = np.full((height, bar_w + label_w + 6, 3), _BACKGROUND, dtype=np.uint8)
    levels = np.linspace(255, 0, height).astype(np.uint8)[:, None].repeat(bar_w, axis=1)
    canvas[:, 3 : 3 + bar_w] = cv2.cvtColor(cv2.applyColorMap(levels, colormap), cv2.COLOR_BGR2RGB)
    for i in range(ticks):
        frac = i / max(ticks - 1, 1)
        y = int(round(frac * (height - 1)))
        value = vmax - frac * (vmax - vmin)
        label = f'{value:.2f}{unit}'
        text_h = cv2.getTextSize(label, _FONT, scale, max(int(round(scale * 2)), 1))[0][1]
        baseline = int(np.clip(y + text_h // 2, text_h + 1, height - 2))
        _text(canvas, label, (bar_w + 6, baseline), scale)
    return canvas


def legend(
    labels: np.ndarray,
    palette: Sequence[Sequence[int]],
    class_names: Optional[Sequence[str]],
    height: int,
    ignore_index: int = 255,
) -> np.ndarray:
    """Swatches and names of the classes present in ``labels``, the largest first.

    As many as fit the height; a last line says how many were left out.

    Args:
        labels (np.ndarray): Class ids, (H, W) or (1, H, W).
        palette (Sequence): (C, 3) RGB colours.
        class_names (Sequence[str], optional): Names by id; ids are shown without them.
        height (int): Height in pixels.
        ignore_index (int): Label left out. Defaults to 255.

    Returns:
        np.ndarray: (height, w, 3) uint8 RGB.
    """
    labels = np.asarray(labels).reshape(np.asarray(labels).shape[-2:])
    ids, counts = np.unique(labels[labels != ignore_index], return_counts=True)
    order = ids[np.argsort(-counts, kind='stable')]
    palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    scale = _font_scale(height)
    line = max(int(26 * scale / 0.5), 12)
    width = int(190 * scale / 0.5)
    canvas = np.full((height, width, 3), _BACKGROUND, dtype=np.uint8)
    fits = max(height // line, 1)
    shown = order if len(order) <= fits else order[: fits - 1]
    for row, cid in enumerate(shown):
        top = row * line + 2
        colour = palette[cid] if cid < len(palette) else np.zeros(3, np.uint8)
        canvas[top : top + line - 4, 4 : 4 + line - 4] = colour
        name = class_names[cid] if class_names is not None and cid < len(class_names) else ''
        _text(canvas, f'{cid} {name}'.strip(), (line + 4, top + line - 8), scale * 0.9)
    if len(shown) < len(order):
        _text(canvas, f'+{len(order) - len(shown)} more', (4, len(shown) * line + line - 6), scale)
    return canvas


def label_picture(
    pred: np.ndarray,
    image: Optional[np.ndarray],
    palette: Optional[Sequence[Sequence[int]]] = None,
    class_names: Optional[Sequence[str]] = None,
    value_range: Optional[Tuple[float, float]] = None,
    alpha: float = 0.5,
) -> np.ndarray:
    """Colour map | colour map over the image (when there is one) | legend of present classes."""
    palette = default_palette() if palette is None else palette
    colours = colorize_labels(pred, palette, 255)
    tiles = [colours]
    if image is not None:
        blend = image.astype(np.float32) * (1 - alpha) + colours.astype(np.float32) * alpha
        tiles.append(np.clip(blend + 0.5, 0, 255).astype(np.uint8))
    tiles.append(legend(pred, palette, class_names, colours.shape[0]))
    return np.concatenate(tiles, axis=1)


def depth_picture(
    pred: np.ndarray,
    image: Optional[np.ndarray] = None,
    palette=None,
    class_names=None,
    value_range: Optional[Tuple[float, float]] = None,
) -> np.ndarray:
    """Depth colour map (viridis over ``value_range``, metres) with its colour bar."""
    depth = np.asarray(pred, dtype=np.float64)
    depth = depth.reshape(depth.shape[-2:])
    vmin, vmax = value_range if value_range is not None else (depth.min(), depth.max())
    colours = colorize_depth(depth, vmin, vmax)
    return np.concatenate([colours, color_bar(colours.shape[0], vmin, vmax, 'm')], axis=1)


def normals_picture(
    pred: np.ndarray, image=None, palette=None, class_names=None, value_range=None
) -> np.ndarray:
    """Unit normals as ``(n + 1) / 2`` RGB."""
    return colorize_normals(pred)


def probability_picture(
    pred: np.ndarray, image=None, palette=None, class_names=None, value_range=None
) -> np.ndarray:
    """Heat map of probabilities (inferno, 0 to 1) with its colour bar."""
    prob = np.asarray(pred, dtype=np.float64)
    prob = prob.reshape(prob.shape[-2:])
    colours = colorize_depth(prob, 0.0, 1.0, colormap=cv2.COLORMAP_INFERNO)
    bar = color_bar(colours.shape[0], 0.0, 1.0, '', colormap=cv2.COLORMAP_INFERNO)
    return np.concatenate([colours, bar], axis=1)


def render_prediction(
    task: str,
    pred: np.ndarray,
    image: Optional[np.ndarray] = None,
    palette: Optional[Sequence[Sequence[int]]] = None,
    class_names: Optional[Sequence[str]] = None,
) -> np.ndarray:
    """The picture of one task's prediction (C, H, W), drawn by its kind.

    Args:
        task (str): Task name.
        pred (np.ndarray): The prediction, (C, H, W) at the image's size.
        image (np.ndarray, optional): The image, (H, W, 3) uint8 RGB. Defaults to None.
        palette (Sequence, optional): Colours of a label task. Defaults to None.
        class_names (Sequence[str], optional): Names of a label task's classes. Defaults to None.

    Returns:
        np.ndarray: (H, w, 3) uint8 RGB (w >= W: legends and colour bars are beside the map).
    """
    kind = get_task_spec(task).task_kind
    pred = np.asarray(pred)
    value_range = kind.value_range(pred) if kind.value_range is not None else None
    if kind.picture is None:
        return kind.colorize(pred, palette=palette, value_range=value_range, is_gt=False)
    return kind.picture(pred, image, palette, class_names, value_range)


def prediction_panel(
    image: np.ndarray, pictures: Mapping[str, np.ndarray], title_height: int = 24
) -> np.ndarray:
    """The image and each task's picture, one row per task (image | picture), titled.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB.
        pictures (Mapping[str, np.ndarray]): Task -> picture, (H, w_t, 3) uint8 RGB.
        title_height (int): Height of the title bars. Defaults to 24.

    Returns:
        np.ndarray: (n_tasks * (H + title_height), W + max w_t, 3) uint8 RGB (pictures of
        another height are scaled to H first).
    """
    height = image.shape[0]
    scaled = {}
    for task, picture in pictures.items():
        if picture.shape[0] != height:
            new_w = int(round(picture.shape[1] * height / picture.shape[0]))
            picture = cv2.resize(picture, (new_w, height), interpolation=cv2.INTER_NEAREST)
        scaled[task] = picture
    width = image.shape[1] + max(p.shape[1] for p in scaled.values())
    rows = []
    for task, picture in scaled.items():
        row = np.full((height + title_height, width, 3), _BACKGROUND, dtype=np.uint8)
        _text(row, f'image | {task}', (4, int(title_height * 0.72)), max(title_height / 40.0, 0.3))
        row[title_height:, : image.shape[1]] = image
        row[title_height:, image.shape[1] : image.shape[1] + picture.shape[1]] = picture
        rows.append(row)
    return np.concatenate(rows, axis=0)
