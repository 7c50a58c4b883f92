"""Procedural indoor rooms: a pinhole camera in a furnished box room, rendered by ray casting.

A room is a floor, four walls and a ceiling furnished with axis-aligned boxes (beds, tables with
legs, chairs, cabinets, sofas, pictures, windows, doors). Depth, labels and normals come from the
same geometry, so they agree exactly; the RGB image is textured and shaded from that geometry too,
so it carries the cues a network needs. Edges are the boundaries between objects.

Conventions: depth = distance along the optical axis in metres (0 = invalid; windows and a few
random blobs are holes, as with a Kinect); normals in the camera frame with x right, y up, z
towards the viewer (a floor seen by a level camera is (0, 1, 0)); labels 1..40 =
``NYUD40_CLASSES`` and 0 = void (some object-boundary pixels).
"""

from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..nyud import NYUD40_CLASSES

__all__ = ['boundaries', 'camera_rays', 'nyud_class_id', 'render_room']


def nyud_class_id(name: str) -> int:
    """Release id (1..40) of a NYUD-40 class name."""
    return NYUD40_CLASSES.index(name) + 1


def _rotation(pitch: float, yaw: float) -> np.ndarray:
    """Camera-to-world rotation: pitch about x (negative looks down), then yaw about y."""
    cp, sp, cy, sy = np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw)
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    return ry @ rx


def camera_rays(size: Tuple[int, int], fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    """Rays through the pixel centres in the camera frame, (H, W, 3), with z = -1."""
    h, w = size
    u = (np.arange(w) + 0.5 - cx) / fx
    v = -(np.arange(h) + 0.5 - cy) / fy
    uu, vv = np.meshgrid(u, v)
    return np.stack([uu, vv, -np.ones_like(uu)], axis=-1)


class _Scene:
    """Primitives of a room: planes and axis-aligned boxes with class, object id and look."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.planes: List[tuple] = []  # (normal, offset, label, obj, look)
        self.boxes: List[tuple] = []  # (lo, hi, label, obj, look)
        self.num_objects = 0

    def look(self, base: Sequence[float], texture: str, jitter: float = 25.0) -> dict:
        colour = np.clip(np.asarray(base, float) + self.rng.normal(0, jitter, 3), 20, 245)
        return dict(colour=colour, texture=texture, phase=self.rng.uniform(0, 10, 3))

    def new_object(self) -> int:
        self.num_objects += 1
        return self.num_objects

    def plane(self, normal, offset, cls: str, look: dict) -> None:
        self.planes.append(
            (np.asarray(normal, float), offset, nyud_class_id(cls), self.new_object(), look)
        )

    def box(self, lo, hi, cls: str, look: dict, obj: Optional[int] = None) -> int:
        obj = self.new_object() if obj is None else obj
        self.boxes.append(
            (np.asarray(lo, float), np.asarray(hi, float), nyud_class_id(cls), obj, look)
        )
        return obj


def _furnish(scene: _Scene, a: float, depth: float, height: float) -> None:
    """Add furniture and wall objects to a room spanning x in [-a, a], z in [-depth, 0.3]."""
    rng = scene.rng
    wood = (150, 100, 60)
    # things on the walls
    for _ in range(rng.integers(1, 3)):
        w, h = rng.uniform(0.4, 0.9), rng.uniform(0.3, 0.7)
        x, y = rng.uniform(-a + 0.6, a - 0.6 - w), rng.uniform(1.2, min(1.9, height - h - 0.1))
        look = scene.look(rng.uniform(40, 220, 3), 'stripes', jitter=0)
        scene.box((x, y, -depth), (x + w, y + h, -depth + 0.03), 'picture', look)
    if rng.random() < 0.7:  # window on a side wall (glass: no depth)
        side = rng.choice([-1, 1])
        z0, h = rng.uniform(-depth + 0.5, -2.2), rng.uniform(0.8, 1.2)
        x_wall = side * a
        lo = (min(x_wall, x_wall - side * 0.03), 0.9, z0)
        hi = (max(x_wall, x_wall - side * 0.03), 0.9 + h, z0 + 1.0)
        scene.box(lo, hi, 'window', scene.look((200, 220, 245), 'flat', jitter=10))
    if rng.random() < 0.5:  # door in the back wall
        x = rng.uniform(-a + 0.2, a - 1.1)
        scene.box((x, 0, -depth), (x + 0.9, 2.05, -depth + 0.04), 'door', scene.look(wood, 'grain'))
    # furniture on the floor, in the back part of the room
    kinds = rng.choice(
        ['bed', 'table', 'cabinet', 'sofa', 'bookshelf', 'dresser', 'box'],
        size=rng.integers(2, 5),
        replace=False,
    )
    for kind in kinds:
        x = rng.uniform(-a + 0.1, a - 1.2)
        z = rng.uniform(-depth + 0.1, -2.6)
        if kind == 'bed':
            w, d = rng.uniform(1.0, 1.6), rng.uniform(1.6, 2.0)
            x, z = min(x, a - w - 0.05), -depth + 0.05
            scene.box(
                (x, 0, z), (x + w, 0.5, z + d), 'bed', scene.look(rng.uniform(60, 200, 3), 'fabric')
            )
            scene.box(
                (x + 0.1, 0.5, z + 0.05),
                (x + w - 0.1, 0.65, z + 0.45),
                'pillow',
                scene.look((235, 235, 230), 'fabric', jitter=10),
            )
        elif kind == 'table':
            w, d, h = rng.uniform(0.8, 1.4), rng.uniform(0.6, 0.9), rng.uniform(0.7, 0.78)
            look = scene.look(wood, 'grain')
            obj = scene.box((x, h - 0.04, z), (x + w, h, z + d), 'table', look)
            for lx in (x, x + w - 0.05):
                for lz in (z, z + d - 0.05):
                    scene.box((lx, 0, lz), (lx + 0.05, h - 0.04, lz + 0.05), 'table', look, obj)
            if rng.random() < 0.8:  # a chair in front of the table
                cx, cz = x + w / 2 - 0.22, z + d + 0.1
                look = scene.look((70, 60, 55), 'flat')
                obj = scene.box((cx, 0.42, cz), (cx + 0.44, 0.47, cz + 0.44), 'chair', look)
                scene.box((cx, 0.47, cz + 0.4), (cx + 0.44, 0.95, cz + 0.44), 'chair', look, obj)
                for lx, lz in ((cx, cz), (cx + 0.4, cz), (cx, cz + 0.4), (cx + 0.4, cz + 0.4)):
                    scene.box((lx, 0, lz), (lx + 0.04, 0.42, lz + 0.04), 'chair', look, obj)
            if rng.random() < 0.5:
                scene.box(
                    (x + 0.1, h, z + 0.1),
                    (x + 0.4, h + 0.08, z + 0.35),
                    'books',
                    scene.look(rng.uniform(40, 220, 3), 'stripes', jitter=0),
                )
        elif kind == 'sofa':
            w = rng.uniform(1.4, 2.0)
            x, z = min(x, a - w - 0.05), -depth + 0.05
            look = scene.look(rng.uniform(50, 180, 3), 'fabric')
            obj = scene.box((x, 0, z), (x + w, 0.42, z + 0.9), 'sofa', look)
            scene.box((x, 0.42, z), (x + w, 0.85, z + 0.25), 'sofa', look, obj)
        else:
            w, d, h = dict(
                cabinet=(0.8, 0.5, 0.9),
                bookshelf=(0.9, 0.35, 1.8),
                dresser=(1.0, 0.5, 0.8),
                box=(0.45, 0.4, 0.35),
            )[kind]
            base = dict(cabinet=(220, 215, 200), bookshelf=wood, dresser=wood, box=(175, 140, 95))[
                kind
            ]
            x_side = rng.choice([-a + 0.02, a - 0.02 - d])  # against a side wall
            scene.box((x_side, 0, z), (x_side + d, h, z + w), kind, scene.look(base, 'grain'))
    if rng.random() < 0.4:
        x, z = rng.uniform(-a + 0.2, a - 1.5), rng.uniform(-depth + 1.0, -2.2)
        scene.box(
            (x, 0, z),
            (x + 1.2, 0.01, z + 0.8),
            'floor mat',
            scene.look(rng.uniform(60, 200, 3), 'stripes'),
        )


def _texture(kind: str, p: np.ndarray, phase: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Brightness multiplier in ~[0.75, 1.15] from world points ``p`` (N, 3) on one surface."""
    # in-plane coordinates: the two world axes the surface normal is not along
    axis = int(np.argmax(np.abs(normal)))
    s, t = [p[:, i] for i in range(3) if i != axis]
    if kind == 'grain':  # wood: planks along s with a fine grain
        return (
            0.9
            + 0.08
            * np.sin(2 * np.pi * (t / 0.15 + phase[0]))
            * np.sign(np.sin(np.pi * s / 0.6 + phase[1]))
            + 0.05 * np.sin(40 * t + 3 * np.sin(5 * s))
        )
    if kind == 'tiles':
        return np.where((np.floor(s / 0.4) + np.floor(t / 0.4)) % 2 == 0, 1.05, 0.85)
    if kind == 'stripes':
        return 0.85 + 0.25 * (np.sin(2 * np.pi * (s / 0.12 + phase[0])) > 0)
    if kind == 'fabric':
        return 0.95 + 0.05 * np.sin(60 * s + phase[0]) * np.sin(60 * t + phase[1])
    if kind == 'speckle':
        return 0.97 + 0.04 * np.sin(31 * s + phase[0]) * np.cos(27 * t + phase[1])
    return np.ones(len(p))


def render_room(rng: np.random.Generator, size: Tuple[int, int]) -> Dict[str, np.ndarray]:
    """Ray-cast one random furnished room.

    Args:
        rng (np.random.Generator): Source of all randomness.
        size (tuple[int, int]): ``(H, W)`` of the image.

    Returns:
        dict: ``rgb`` (H, W, 3) uint8, ``depth`` (H, W) float32 metres (0 = invalid),
        ``label`` (H, W) uint8 release ids (0 = void), ``normals`` (H, W, 3) float32 camera frame,
        ``edge`` (H, W) uint8 {0, 1}, ``object`` (H, W) int32 object ids, and ``meta`` (camera).
    """
    h, w = size
    fx = fy = 0.85 * w
    cx, cy = w / 2, h / 2
    a, room_depth, ceiling = rng.uniform(1.8, 2.8), rng.uniform(4.0, 6.0), rng.uniform(2.4, 3.0)
    cam_height = rng.uniform(1.1, 1.6)
    origin = np.array([rng.uniform(-0.3, 0.3) * a, cam_height, 0.0])
    rot = _rotation(np.deg2rad(rng.uniform(-25, -8)), np.deg2rad(rng.uniform(-20, 20)))

    scene = _Scene(rng)
    wall = scene.look(rng.uniform(170, 235, 3), 'speckle', jitter=0)
    scene.plane(
        (0, 1, 0),
        0.0,
        'floor',
        scene.look(
            (140, 100, 70) if rng.random() < 0.6 else (170, 170, 165),
            rng.choice(['grain', 'tiles']),
        ),
    )
    scene.plane((0, -1, 0), -ceiling, 'ceiling', scene.look((240, 240, 238), 'flat', jitter=5))
    scene.plane((1, 0, 0), -a, 'wall', wall)
    scene.plane((-1, 0, 0), -a, 'wall', wall)
    scene.plane((0, 0, 1), -room_depth, 'wall', wall)
    scene.plane((0, 0, -1), -0.3, 'wall', wall)
    _furnish(scene, a, room_depth, ceiling)

    rays_cam = camera_rays(size, fx, fy, cx, cy).reshape(-1, 3)
    rays = rays_cam @ rot.T  # world directions; the hit at parameter t has depth t
    n = len(rays)
    best_t = np.full(n, np.inf)
    label = np.zeros(n, np.uint8)
    obj = np.zeros(n, np.int32)
    normal_w = np.zeros((n, 3))
    look_id = np.zeros(n, np.int32)
    looks = []
    with np.errstate(divide='ignore', invalid='ignore'):
        for normal, offset, cls, oid, look in scene.planes:  # points p with normal . p = offset
            t = (offset - normal @ origin) / (rays @ normal)
            hit = (t > 1e-6) & (t < best_t)
            best_t[hit], label[hit], obj[hit] = t[hit], cls, oid
            normal_w[hit] = normal
            look_id[hit] = len(looks)
            looks.append(look)
        for lo, hi, cls, oid, look in scene.boxes:  # slab test; the entry face gives the normal
            t1, t2 = (lo - origin) / rays, (hi - origin) / rays
            near, far = np.minimum(t1, t2), np.maximum(t1, t2)
            near = np.where(np.isnan(near), -np.inf, near)
            far = np.where(np.isnan(far), np.inf, far)
            t_in, t_out = near.max(1), far.min(1)
            hit = (t_in > 1e-6) & (t_in <= t_out) & (t_in < best_t)
            axis = near.argmax(1)
            best_t[hit], label[hit], obj[hit] = t_in[hit], cls, oid
            face = np.zeros((n, 3))
            face[np.arange(n), axis] = -np.sign(rays[np.arange(n), axis])
            normal_w[hit] = face[hit]
            look_id[hit] = len(looks)
            looks.append(look)

    points = origin + best_t[:, None] * rays
    # Lambertian shading from a ceiling light and a weaker one behind the camera
    rgb = np.zeros((n, 3))
    light = np.array([0.0, ceiling - 0.05, -room_depth / 2])
    to_light = light - points
    dist = np.linalg.norm(to_light, axis=1, keepdims=True)
    lambert = np.clip((normal_w * to_light / dist).sum(1), 0, 1)
    fill = np.clip(normal_w @ np.array([0.3, 0.5, 0.8]) / np.linalg.norm([0.3, 0.5, 0.8]), 0, 1)
    shade = 0.3 + 0.55 * lambert / (1 + 0.04 * dist[:, 0] ** 2) + 0.3 * fill
    for i, look in enumerate(looks):
        sel = look_id == i
        if sel.any():
            tex = _texture(look['texture'], points[sel], look['phase'], normal_w[sel][0])
            rgb[sel] = look['colour'] * (tex * shade[sel])[:, None]
    rgb = rgb.reshape(h, w, 3) + rng.normal(0, 3, (h, w, 3))
    rgb = np.clip(cv2.GaussianBlur(rgb, (3, 3), 0.6), 0, 255).astype(np.uint8)

    depth = best_t.reshape(h, w).astype(np.float32)
    label = label.reshape(h, w)
    obj = obj.reshape(h, w)
    normals = (normal_w @ rot).reshape(h, w, 3).astype(np.float32)  # rot^T n, row-wise
    edge = boundaries(obj)
    # sensor-like holes: glass, and a few random blobs
    depth[label == nyud_class_id('window')] = 0
    for _ in range(rng.integers(0, 3)):
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (int(rng.integers(2, max(3, w // 20))), int(rng.integers(2, max(3, h // 20))))
        hole = cv2.ellipse(np.zeros((h, w), np.uint8), centre, axes, 0, 0, 360, 1, -1)
        depth[hole > 0] = 0
    # void on a random part of the object boundaries, as annotators leave them
    label = label.copy()
    label[(edge > 0) & (rng.random((h, w)) < 0.3)] = 0
    meta = dict(
        source='procedural',
        fx=fx,
        fy=fy,
        cx=cx,
        cy=cy,
        camera_height=cam_height,
        rotation=rot.tolist(),
    )
    return dict(
        rgb=rgb, depth=depth, label=label, normals=normals, edge=edge, object=obj, meta=meta
    )


def boundaries(ids: np.ndarray) -> np.ndarray:
    """1 where a pixel differs from its right or lower neighbour, else 0; uint8 (H, W)."""
    edge = np.zeros(ids.shape, np.uint8)
    edge[:, :-1] |= (ids[:, :-1] != ids[:, 1:]).astype(np.uint8)
    edge[:-1, :] |= (ids[:-1, :] != ids[1:, :]).astype(np.uint8)
    return edge
