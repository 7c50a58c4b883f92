"""The procedural room renderer: depth, labels, normals and edges agree with one geometry."""

import numpy as np
import pytest

from mmkem.datasets.synthetic.rooms import nyud_class_id, render_room

SIZE = (48, 64)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_room_geometry_is_consistent(seed):
    room = render_room(np.random.default_rng(seed), SIZE)
    meta = room['meta']
    rot = np.array(meta['rotation'])
    h, w = SIZE
    vv, uu = np.mgrid[:h, :w] + 0.5
    rays = np.stack(
        [(uu - meta['cx']) / meta['fx'], -(vv - meta['cy']) / meta['fy'], -np.ones_like(uu)], -1
    )
    points = room['depth'][..., None] * rays  # camera frame
    floor = (room['label'] == nyud_class_id('floor')) & (room['depth'] > 0)
    assert floor.sum() > 50
    up = rot.T @ np.array([0.0, 1.0, 0.0])  # world up in the camera frame
    assert up[1] > 0.9  # a camera that looks down a little
    np.testing.assert_allclose(
        room['normals'][floor], np.broadcast_to(up, (floor.sum(), 3)), atol=1e-6
    )
    # floor points lie on the plane 'height above the floor = 0'
    np.testing.assert_allclose(points[floor] @ up, -meta['camera_height'], atol=1e-4)
    # all normals are unit and face the camera
    normals = room['normals'].reshape(-1, 3)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1, atol=1e-6)
    valid = room['depth'].reshape(-1) > 0
    assert ((normals * points.reshape(-1, 3)).sum(1)[valid] < 0).all()
    # edges lie on object boundaries: labels differ only across edges
    diff = room['label'][:, 1:] != room['label'][:, :-1]
    both_labelled = (room['label'][:, 1:] > 0) & (room['label'][:, :-1] > 0)
    assert room['edge'][:, :-1][diff & both_labelled].all()
    # windows are glass: no depth
    assert (room['depth'][room['label'] == nyud_class_id('window')] == 0).all()
