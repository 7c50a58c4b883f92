"""mmkem.testing.bad_files: each corruption makes the file bad in the way it says."""

import os

import cv2
import numpy as np
import pytest

from mmkem.testing import CORRUPTIONS, corrupt_file, plant_problems, write_tiny_nyud


@pytest.fixture
def tiny(tmp_path):
    write_tiny_nyud(str(tmp_path), 'png', 2, 1, (24, 32), num_real=0)
    return tmp_path


def test_corruptions(tiny):
    depth = str(tiny / 'depth' / '0001.npy')
    metres = np.load(depth)
    corrupt_file(depth, 'depth_millimetres')
    np.testing.assert_allclose(np.load(depth), metres * 1000)
    normals = str(tiny / 'normals' / '0001.png')
    corrupt_file(normals, 'normals_grey')
    assert cv2.imread(normals, cv2.IMREAD_UNCHANGED).ndim == 2
    corrupt_file(normals, 'normals_all_black')
    assert not cv2.imread(normals).any()
    edge = str(tiny / 'edge' / '0001.png')
    corrupt_file(edge, 'not_binary')
    assert 128 in np.unique(cv2.imread(edge, cv2.IMREAD_UNCHANGED))
    with pytest.raises(ValueError, match='a png cannot hold'):
        corrupt_file(normals, 'normals_not_unit')
    with pytest.raises(KeyError, match='unknown corruption'):
        corrupt_file(normals, 'scramble')


def test_plant_problems_one_per_sample(tiny):
    train = sorted((tiny / 'gt_sets' / 'train.txt').read_text().split())
    planted = plant_problems(str(tiny), ['remove', 'truncate'])
    assert planted == [
        ('remove', str(tiny / 'depth' / f'{train[0]}.npy'), CORRUPTIONS['remove'][1]),
        ('truncate', str(tiny / 'segmentation' / f'{train[1]}.png'), 'unreadable file'),
    ]
    assert not os.path.exists(planted[0][1])
    with pytest.raises(ValueError, match='need as many samples'):
        plant_problems(str(tiny), ['remove'] * 3)
