"""PNG panels of multi-task predictions: the image, and each task's ground truth and prediction.

Only numpy and OpenCV: usable from the visualizer, the demo and a notebook alike. Images are RGB
uint8 (H, W, 3) throughout; :func:`save_panel` converts to BGR for ``cv2.imwrite``. Each task map
is drawn by its task kind's ``colorize`` entry (``mmkem/tasks/kinds.py``; the colours are in
:mod:`mmkem.visualization.colorize`).
"""

import os
import os.path as osp
from typing import List, Mapping, Optional, Sequence, Tuple

import cv2
import numpy as np

from mmkem.structures import (
    TASK_SPECS,
    TaskSpec,
    get_field,
    get_task_spec,
    pixel_array,
    task_classes,
)
from mmkem.utils.image_io import read_image

from .colorize import default_palette

__all__ = [
    'render_task_map',
    'palette_for',
    'read_rgb',
    'compose_grid',
    'render_multitask_panel',
    'save_panel',
    'save_multitask_panels',
]


def render_task_map(
    spec: TaskSpec,
    data: np.ndarray,
    palette: Optional[Sequence[Sequence[int]]] = None,
    depth_range: Optional[Tuple[float, float]] = None,
    is_gt: bool = False,
) -> np.ndarray:
    """Draw one task map (ground truth or prediction) with its task kind's colours.

    Args:
        spec (TaskSpec): The task's spec.
        data (np.ndarray): The map, (C, H, W) as on the data sample (C = 3 for normals, else 1).
        palette (Sequence, optional): Colours of a label map. Defaults to None
            (:func:`~mmkem.visualization.colorize.default_palette`).
        depth_range (tuple, optional): ``(vmin, vmax)`` of kinds with a value range (depth).
            Defaults to None (the map's own range).
        is_gt (bool): Whether ``data`` is ground truth (its invalid and ignored pixels are drawn
            as such). Defaults to False.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB.
    """
    return spec.task_kind.colorize(
        np.asarray(data), palette=palette, value_range=depth_range, is_gt=is_gt
    )


def _title_bar(text: str, width: int, height: int) -> np.ndarray:
    bar = np.full((height, width, 3), 32, dtype=np.uint8)
    scale = max(height / 40.0, 0.3)
    thickness = max(int(round(height / 24.0)), 1)
    cv2.putText(
        bar,
        text,
        (4, int(height * 0.72)),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        thickness,
        cv2.LINE_AA,
    )
    return bar


def compose_grid(
    rows: Sequence[Sequence[Tuple[str, Optional[np.ndarray]]]],
    tile_hw: Tuple[int, int],
    title_height: int = 24,
) -> np.ndarray:
    """Lay out titled tiles in a grid.

    Every tile is resized (nearest) to ``tile_hw`` and gets a title bar above it; a ``None`` tile is
    left dark grey with its title.

    Args:
        rows (Sequence): Rows of ``(title, image)`` pairs, images (h, w, 3) uint8 RGB or None.
        tile_hw (tuple): (H, W) of each tile.
        title_height (int): Height of the title bars in pixels. Defaults to 24.

    Returns:
        np.ndarray: (len(rows) * (H + title_height), max row length * W, 3) uint8 RGB.
    """
    h, w = tile_hw
    ncols = max(len(r) for r in rows)
    canvas = np.zeros((len(rows) * (h + title_height), ncols * w, 3), dtype=np.uint8)
    for i, row in enumerate(rows):
        top = i * (h + title_height)
        for j, (title, tile) in enumerate(row):
            canvas[top : top + title_height, j * w : (j + 1) * w] = _title_bar(
                title, w, title_height
            )
            if tile is None:
                tile = np.full((h, w, 3), 48, dtype=np.uint8)
            elif tile.shape[:2] != (h, w):
                tile = cv2.resize(tile, (w, h), interpolation=cv2.INTER_NEAREST)
            canvas[top + title_height : top + title_height + h, j * w : (j + 1) * w] = tile
    return canvas


def _field(sample, name: str) -> Optional[np.ndarray]:
    """``sample.<name>.data`` as an array (SegDataSample or its ``to_dict()`` form), or None."""
    value = get_field(sample, name)
    if value is None or (isinstance(value, Mapping) and value.get('data') is None):
        return None
    return pixel_array(value, name)


def _sample_tasks(sample) -> List[str]:
    meta = sample if isinstance(sample, Mapping) else getattr(sample, 'metainfo', {})
    tasks = meta.get('tasks')
    if tasks:
        return list(tasks)
    return [
        n
        for n, s in TASK_SPECS.items()
        if _field(sample, s.pred_field) is not None or _field(sample, s.gt_field) is not None
    ]


def palette_for(
    task: str,
    palettes: Optional[Mapping[str, Sequence]] = None,
    dataset_meta: Optional[Mapping] = None,
) -> np.ndarray:
    """The palette of a segmentation task.

    Order: ``palettes[task]``; ``dataset_meta['<task>_palette']``; ``dataset_meta['palette']`` (the
    dataset's class palette); :func:`default_palette`. The result is extended with the default
    colours when it is shorter than the task's number of classes.

    Args:
        task (str): Task name.
        palettes (Mapping, optional): Task -> palette given by the user. Defaults to None.
        dataset_meta (Mapping, optional): The dataset's meta information. Defaults to None.

    Returns:
        np.ndarray: (N, 3) uint8 RGB, N >= the task's number of classes.
    """
    palettes = palettes or {}
    meta = dataset_meta or {}
    for candidate in (palettes.get(task), meta.get(f'{task}_palette'), meta.get('palette')):
        if candidate is not None and len(candidate) > 0:
            palette = np.asarray(candidate, dtype=np.uint8).reshape(-1, 3)
            break
    else:
        palette = default_palette()
    needed = max(len(task_classes(task, meta) or ()), 1)
    if len(palette) < needed:
        palette = np.concatenate([palette, default_palette(needed)[len(palette) :]])
    return palette


def render_multitask_panel(
    image: Optional[np.ndarray],
    data_sample,
    tasks: Optional[Sequence[str]] = None,
    palettes: Optional[Mapping[str, Sequence]] = None,
    dataset_meta: Optional[Mapping] = None,
    draw_gt: bool = True,
    draw_pred: bool = True,
    title_height: int = 24,
) -> np.ndarray:
    """One panel for one sample: a row per task with the image, the ground truth and the prediction.

    Args:
        image (np.ndarray, optional): The input image, (H, W, 3) uint8 RGB at the size of the
            predictions (the original image). Defaults to None (the size of the first map found; the
            image tile is left dark).
        data_sample (SegDataSample | dict): Carries ``spec.gt_field`` and ``spec.pred_field`` of
            each task (either may be missing: its tile is left dark).
        tasks (Sequence[str], optional): Tasks to draw, in order. Defaults to None (the sample's
            ``tasks`` meta key, else every known task with a field on the sample).
        palettes (Mapping, optional): Task -> segmentation palette. Defaults to None (see
            :func:`palette_for`).
        dataset_meta (Mapping, optional): Dataset meta with ``palette``. Defaults to None.
        draw_gt (bool): Draw the ground-truth column. Defaults to True.
        draw_pred (bool): Draw the prediction column. Defaults to True.
        title_height (int): Title bar height in pixels. Defaults to 24.

    Returns:
        np.ndarray: (n_tasks * (H + title_height), (1 + draw_gt + draw_pred) * W, 3) uint8 RGB.
    """
    tasks = list(tasks) if tasks else _sample_tasks(data_sample)
    if not tasks:
        raise ValueError(
            'render_multitask_panel: no task to draw (pass tasks=... or put task fields '
            'on the data sample)'
        )
    maps = {}
    for task in tasks:
        spec = get_task_spec(task)
        maps[task] = (_field(data_sample, spec.gt_field), _field(data_sample, spec.pred_field))
    if image is None:
        shapes = [m.shape[-2:] for pair in maps.values() for m in pair if m is not None]
        if not shapes:
            raise ValueError('render_multitask_panel: no image and no task map to size the panel')
        tile_hw = tuple(int(s) for s in shapes[0])
    else:
        tile_hw = tuple(int(s) for s in image.shape[:2])

    rows = []
    for task in tasks:
        spec = get_task_spec(task)
        gt, pred = maps[task]
        kind = spec.task_kind
        palette = palette_for(task, palettes, dataset_meta) if kind.labels else None
        ref = gt if gt is not None else pred
        value_range = None
        if kind.value_range is not None and ref is not None:
            value_range = kind.value_range(ref)
        row = [('image', image)]
        if draw_gt:
            tile = None if gt is None else render_task_map(spec, gt, palette, value_range, True)
            row.append((f'{task} GT', tile))
        if draw_pred:
            tile = None if pred is None else render_task_map(spec, pred, palette, value_range)
            row.append((f'{task} prediction', tile))
        rows.append(row)
    return compose_grid(rows, tile_hw, title_height)


def save_panel(panel: np.ndarray, out_file: str) -> str:
    """Write an RGB panel to ``out_file`` (PNG unless the name says otherwise); return the path."""
    out_dir = osp.dirname(osp.abspath(out_file))
    os.makedirs(out_dir, exist_ok=True)
    if not cv2.imwrite(out_file, cv2.cvtColor(panel, cv2.COLOR_RGB2BGR)):
        raise OSError(f'could not write the panel to {out_file!r}')
    return out_file


def read_rgb(path: str, backend_args: Optional[dict] = None) -> np.ndarray:
    """Read an image file (or a ``.npy`` image array) as (H, W, 3) uint8 RGB."""
    return read_image(path, channel_order='rgb', backend_args=backend_args)


def save_multitask_panels(
    data_samples: Sequence,
    out_dir: str,
    images: Optional[Sequence[np.ndarray]] = None,
    tasks: Optional[Sequence[str]] = None,
    palettes: Optional[Mapping[str, Sequence]] = None,
    dataset_meta: Optional[Mapping] = None,
    draw_gt: bool = True,
    draw_pred: bool = True,
) -> List[str]:
    """Write one PNG panel per sample into ``out_dir`` (what the demo calls after testing).

    Args:
        data_samples (Sequence[SegDataSample | dict]): Samples with predictions (and ground truth).
        out_dir (str): Directory for ``<image name>.png`` files (created if missing).
        images (Sequence[np.ndarray], optional): RGB images, one per sample. Defaults to None (read
            from each sample's ``img_path``).
        tasks, palettes, dataset_meta, draw_gt, draw_pred: As in :func:`render_multitask_panel`.

    Returns:
        list[str]: The written files.
    """
    if images is not None and len(images) != len(data_samples):
        raise ValueError(f'images has {len(images)} entries for {len(data_samples)} data_samples')
    written = []
    for i, sample in enumerate(data_samples):
        meta = sample if isinstance(sample, Mapping) else getattr(sample, 'metainfo', {})
        img_path = meta.get('img_path')
        if images is not None:
            image = images[i]
        elif img_path is not None:
            image = read_rgb(img_path)
        else:
            image = None
        stem = osp.splitext(osp.basename(img_path))[0] if img_path else f'sample_{i:05d}'
        panel = render_multitask_panel(
            image, sample, tasks, palettes, dataset_meta, draw_gt, draw_pred
        )
        written.append(save_panel(panel, osp.join(out_dir, f'{stem}.png')))
    return written
