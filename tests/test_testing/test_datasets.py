"""The dataset writers put the release layouts on disk, seeded. Their decoding by the dataset
classes is tested with each dataset (tests/test_datasets/)."""

import os
import os.path as osp

import numpy as np
import scipy.io

from mmkem.testing import datasets


def _files(root):
    return sorted(osp.relpath(osp.join(d, f), root) for d, _, files in os.walk(root) for f in files)


def test_box_mask():
    mask = datasets.box_mask((3, 4), 1, 3, 0, 2)
    assert mask.dtype == bool and mask.sum() == 4 and mask[1:, :2].all()


def test_write_tiny_nyud_layout(tmp_path):
    ids = datasets.write_tiny_nyud(
        str(tmp_path), 'jpg', num_train=1, num_val=1, size=(16, 24), num_real=0
    )
    assert ids == {'train': ['0001'], 'val': ['0000']}
    assert 'images/0000.jpg' in _files(str(tmp_path))
    assert 'normals/0001.npy' in _files(str(tmp_path))


def test_write_pascal_mt_layout(tmp_path):
    root = str(tmp_path)
    datasets.write_pascal_mt(root, ['ap', 'bn'], ['c'], size=(20, 12))
    files = _files(root)
    assert 'ImageSets/Context/train.txt' in files and 'JPEGImages/c.jpg' in files
    assert 'human_parts/ap.mat' in files and 'human_parts/bn.mat' in files
    assert not osp.exists(osp.join(root, 'human_parts', 'c.mat'))  # no person, no .mat
    assert {'semseg/pascal-context/c.png', 'sal_distill/c.png', 'normals_distill/c.png'} <= set(
        files
    )
    assert 'pascal-context/trainval/c.mat' in files
    with open(osp.join(root, 'ImageSets', 'Context', 'train.txt')) as f:
        assert f.read() == 'ap\nbn\n'
    anno = scipy.io.loadmat(osp.join(root, 'human_parts', 'ap.mat'))['anno'][0, 0]
    assert anno['objects'].shape == (1, 2) and anno['objects'][0, 0]['parts'].shape == (1, 6)


def test_write_pascal_part_mat_without_parts(tmp_path):
    path = str(tmp_path / 'x.mat')
    datasets.write_pascal_part_mat(
        path, 'x', [('dog', 12, datasets.box_mask((2, 2), 0, 1, 0, 1), [])]
    )
    obj = scipy.io.loadmat(path)['anno'][0, 0]['objects'][0, 0]
    assert obj['parts'].shape == (0, 0) and obj['mask'].dtype == np.uint8


def test_write_libmtl_nyuv2_returns_what_it_wrote(tmp_path):
    root = str(tmp_path)
    arrays = datasets.write_libmtl_nyuv2(root, num_train=2, num_val=1, size=(4, 6))
    assert sorted(arrays) == [('train', 0), ('train', 1), ('val', 0)]
    for folder, shape in (('image', (4, 6, 3)), ('label', (4, 6)), ('depth', (4, 6, 1))):
        value = np.load(osp.join(root, 'val', folder, '0.npy'))
        assert value.shape == shape and value.dtype == np.float32
        np.testing.assert_array_equal(value, arrays[('val', 0)][folder])
    assert (arrays[('train', 0)]['depth'][0, :3] == 0).all()
    again = datasets.write_libmtl_nyuv2(str(tmp_path / 'b'), num_train=2, num_val=1, size=(4, 6))
    np.testing.assert_array_equal(again[('train', 1)]['normal'], arrays[('train', 1)]['normal'])


def test_write_ade20k_layout(tmp_path):
    datasets.write_ade20k(str(tmp_path), num_train=2, num_val=1, size=(8, 10))
    assert _files(str(tmp_path)) == [
        'annotations/training/ADE_train_00000000.png',
        'annotations/training/ADE_train_00000001.png',
        'annotations/validation/ADE_valid_00000000.png',
        'images/training/ADE_train_00000000.jpg',
        'images/training/ADE_train_00000001.jpg',
        'images/validation/ADE_valid_00000000.jpg',
    ]
