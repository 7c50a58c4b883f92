"""PNG panels of multi-task predictions: the image, and each task's ground truth and prediction.

Only numpy and OpenCV: usable from the visualizer, the hook, the demo and a notebook alike. Images
are RGB uint8 (H, W, 3) throughout; :func:`save_panel` converts to BGR for ``cv2.imwrite``.

How each task kind is drawn (the kind comes from the task spec, ``mmkem/structures/tasks.py``):

- segmentation: label colours from the palette; the ignore label (255) is black.
- depth: the viridis colour map over the sample's valid ground-truth range (1st to 99th percentile,
  shared by ground truth and prediction so they compare); invalid ground truth (``<= 0``) is black.
- normals: ``(n + 1) / 2`` as RGB; all-zero (invalid) ground truth is black.
- edge, saliency: grey levels (probability × 255); ignored ground truth (255) is mid grey.
"""

import os
import os.path as osp
from typing import List, Mapping, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..structures.tasks import TASK_SPECS, TaskSpec, get_task_spec

__all__ = [
    'default_palette',
    'colorize_labels',
    'colorize_depth',
    'colorize_normals',
    'colorize_probability',
    'render_task_map',
    'palette_for',
    'read_rgb',
    'compose_grid',
    'render_multitask_panel',
    'save_panel',
    'save_multitask_panels',
    'IGNORE_GREY',
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


def render_task_map(
    spec: TaskSpec,
    data: np.ndarray,
    palette: Optional[Sequence[Sequence[int]]] = None,
    depth_range: Optional[Tuple[float, float]] = None,
    is_gt: bool = False,
) -> np.ndarray:
    """Draw one task map (ground truth or prediction) by its task kind.

    Args:
        spec (TaskSpec): The task's spec.
        data (np.ndarray): The map, (C, H, W) as on the data sample (C = 3 for normals, else 1).
        palette (Sequence, optional): Segmentation colours. Defaults to None
            (:func:`default_palette`).
        depth_range (tuple, optional): (vmin, vmax) for depth. Defaults to None (the map's own
            valid range).
        is_gt (bool): Whether ``data`` is ground truth (its invalid pixels are drawn black).
            Defaults to False.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB.
    """
    data = np.asarray(data)
    if spec.kind == 'segmentation':
        return colorize_labels(
            data, default_palette() if palette is None else palette, spec.ignore_index
        )
    if spec.kind == 'depth':
        valid = np.isfinite(data) & (data > 0)
        if depth_range is None:
            depth_range = _valid_range(data, valid)
        return colorize_depth(data, *depth_range, invalid=~valid if is_gt else None)
    if spec.kind == 'normals':
        return colorize_normals(data)
    if spec.kind in ('edge', 'saliency'):
        return colorize_probability(data, spec.ignore_index if is_gt else None)
    raise ValueError(f'no drawing for task kind {spec.kind!r} (task {spec.name!r})')


def _valid_range(depth: np.ndarray, valid: np.ndarray) -> Tuple[float, float]:
    """1st and 99th percentiles of the valid depths, so a few outliers do not flatten the map."""
    if not valid.any():
        return 0.0, 1.0
    low, high = np.percentile(depth[valid], (1, 99))
    return float(low), float(max(high, low + 1e-6))


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
    value = sample.get(name) if isinstance(sample, Mapping) else getattr(sample, name, None)
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = value.get('data')
    elif hasattr(value, 'data') and not isinstance(value, np.ndarray):
        value = value.data
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return None if value is None else np.asarray(value)


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
    needed = max(get_task_spec(task).channels, 1)
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
        palette = palette_for(task, palettes, dataset_meta) if spec.is_segmentation else None
        depth_range = None
        if spec.kind == 'depth':
            ref = gt if gt is not None else pred
            if ref is not None:
                valid = np.isfinite(ref) & (ref > 0)
                depth_range = _valid_range(ref, valid)
        row = [('image', image)]
        if draw_gt:
            tile = None if gt is None else render_task_map(spec, gt, palette, depth_range, True)
            row.append((f'{task} GT', tile))
        if draw_pred:
            tile = None if pred is None else render_task_map(spec, pred, palette, depth_range)
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


def read_rgb(path: str) -> np.ndarray:
    """Read an image file as (H, W, 3) uint8 RGB."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f'could not read the image {path!r}')
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


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
