"""A hand-made transform ``results`` dict whose every field encodes its pixel's coordinates."""

import numpy as np

__all__ = ['coordinate_results']


def coordinate_results(H: int = 6, W: int = 8) -> dict:  # noqa: N803 (the tests' H, W)
    """Image, semseg, depth, normals and edge of (H, W) pixels, each encoding its pixel's
    coordinates, so any misalignment between fields after a transform shows."""
    yy, xx = np.mgrid[:H, :W]
    img = np.stack([yy, xx, np.zeros_like(yy)], -1).astype(np.uint8)
    label = (yy * W + xx).astype(np.uint8)  # distinct per pixel, < 255
    depth = (1 + yy * W + xx).astype(np.float32)
    normals = np.zeros((H, W, 3), np.float32)
    normals[..., 0] = 0.6
    normals[..., 1] = -0.8
    normals[0, 0] = 0  # an invalid normal
    edge = (xx % 2).astype(np.uint8)
    return dict(
        img=img,
        img_shape=(H, W),
        ori_shape=(H, W),
        gt_sem_seg=label,
        gt_depth_map=depth,
        gt_normals=normals,
        gt_edge=edge,
        seg_fields=['gt_sem_seg', 'gt_depth_map', 'gt_normals', 'gt_edge'],
    )
