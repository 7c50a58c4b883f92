"""The demo dataset builder: layout, determinism, argument checks and its command line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmkem.datasets.synthetic import make_demo_nyud

SIZE = (48, 64)
REPO = Path(__file__).resolve().parents[3]


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
