"""NYUDv2Dataset + LoadMultiTaskAnnotations on both release layouts, and their error messages."""

import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmseg.registry import DATASETS

from mmkem.datasets import NYUD40_CLASSES

ALL_TASKS = ('semseg', 'depth', 'normals', 'edge')
LOAD = [dict(type='LoadImageFromFile'), dict(type='LoadMultiTaskAnnotations')]


def build(root, split='train', tasks=ALL_TASKS, pipeline=LOAD, **kwargs):
    return DATASETS.build(
        dict(
            type='NYUDv2Dataset',
            data_root=str(root),
            split=split,
            tasks=tasks,
            pipeline=pipeline,
            **kwargs,
        )
    )


def copy_root(nyud_root, tmp_path):
    root = tmp_path / 'nyud'
    shutil.copytree(nyud_root, root)
    return root


def test_metainfo():
    cls = DATASETS.get('NYUDv2Dataset')
    assert len(cls.METAINFO['classes']) == 40
    assert cls.METAINFO['classes'][:3] == ('wall', 'floor', 'cabinet')
    assert cls.METAINFO['classes'][21] == 'ceiling' and cls.METAINFO['classes'][-1] == 'otherprop'
    palette = cls.METAINFO['palette']
    assert len(palette) == 40 and len({tuple(c) for c in palette}) == 40
    assert palette[0] == [128, 0, 0]  # VOC colour 1


def test_data_list(nyud_root):
    dataset = build(nyud_root, split='val')
    assert len(dataset) == 2
    ids = (nyud_root / 'gt_sets' / 'val.txt').read_text().split()
    info = dataset.get_data_info(0)
    assert info['sample_id'] == sorted(ids)[0]
    ext = '.png' if 'png' in nyud_root.name else '.jpg'
    assert info['img_path'] == str(nyud_root / 'images' / (info['sample_id'] + ext))
    npy = '.png' if ext == '.png' else '.npy'
    assert info['normals_path'].endswith(info['sample_id'] + npy)
    assert info['edge_path'].endswith(info['sample_id'] + npy)
    assert info['depth_path'].endswith('.npy') and info['semseg_path'].endswith('.png')
    assert info['tasks'] == ALL_TASKS and info['seg_fields'] == [] and info['label_offset'] == 1
    # only the requested tasks get paths
    info = build(nyud_root, tasks=('depth',)).get_data_info(0)
    assert 'depth_path' in info and 'semseg_path' not in info


def test_split_as_path(nyud_root, tmp_path):
    split = tmp_path / 'mine.txt'
    split.write_text('0001\n0001\n\n')  # duplicates and blank lines are dropped
    assert len(build(nyud_root, split=str(split))) == 1


def test_loaded_values(nyud_root):
    dataset = build(nyud_root, split='train')
    results = dataset[1]  # a procedural room: it has void pixels
    sid = results['sample_id']
    raw = cv2.imread(str(nyud_root / 'segmentation' / f'{sid}.png'), cv2.IMREAD_UNCHANGED)
    expected = np.where(raw == 0, 255, raw.astype(np.int64) - 1)
    assert (raw == 0).any() and (raw > 0).any()
    np.testing.assert_array_equal(results['gt_sem_seg'], expected)
    assert results['gt_sem_seg'].dtype == np.uint8
    depth = np.load(nyud_root / 'depth' / f'{sid}.npy')
    np.testing.assert_array_equal(results['gt_depth_map'], depth)
    assert (results['gt_depth_map'] == 0).sum() == (depth == 0).sum()  # 0 stays invalid
    if 'png' in nyud_root.name:
        bgr = cv2.imread(str(nyud_root / 'normals' / f'{sid}.png')).astype(np.float64)
        n = 2 * bgr[..., ::-1] / 255 - 1
        length = np.linalg.norm(n, axis=-1, keepdims=True)
        n = np.where((length > 0.5) & (length < 1.5), n / length, 0)
        np.testing.assert_allclose(results['gt_normals'], n, atol=1e-6)
        edge = cv2.imread(str(nyud_root / 'edge' / f'{sid}.png'), cv2.IMREAD_UNCHANGED) // 255
    else:
        np.testing.assert_array_equal(
            results['gt_normals'], np.load(nyud_root / 'normals' / f'{sid}.npy')
        )
        edge = np.load(nyud_root / 'edge' / f'{sid}.npy')
    np.testing.assert_array_equal(results['gt_edge'], edge)
    assert results['seg_fields'] == ['gt_sem_seg', 'gt_depth_map', 'gt_normals', 'gt_edge']


def test_png_normals_decoding(tmp_path):
    """2 v / 255 - 1 on hand-written pixels; mid-grey and black are invalid (all-zero)."""
    from mmkem.datasets.transforms import LoadMultiTaskAnnotations

    rgb = np.array([[[255, 128, 128], [128, 255, 128], [128, 128, 128], [0, 0, 0]]], np.uint8)
    cv2.imwrite(str(tmp_path / 'n.png'), rgb[..., ::-1])
    out = LoadMultiTaskAnnotations(tasks=('normals',))(
        dict(normals_path=str(tmp_path / 'n.png'), ori_shape=(1, 4))
    )['gt_normals']
    x = 2 * 128 / 255 - 1
    np.testing.assert_allclose(out[0, 0], np.array([1, x, x]) / np.sqrt(1 + 2 * x * x), atol=1e-6)
    np.testing.assert_allclose(out[0, 1], np.array([x, 1, x]) / np.sqrt(1 + 2 * x * x), atol=1e-6)
    np.testing.assert_array_equal(out[0, 2:], 0)


def test_label_mapping_hand_made(tmp_path):
    """Release ids 1..40 -> 0..39; 0 (void) and 255 -> 255; edges 0 / 255 -> 0 / 1."""
    from mmkem.datasets.transforms import LoadMultiTaskAnnotations

    cv2.imwrite(str(tmp_path / 's.png'), np.array([[0, 1, 40, 255]], np.uint8))
    cv2.imwrite(str(tmp_path / 'e.png'), np.array([[0, 255, 0, 255]], np.uint8))
    np.save(tmp_path / 'e.npy', np.array([[0.0, 1.0, 0.2, 0.7]], np.float32))
    load = LoadMultiTaskAnnotations(tasks=('semseg', 'edge'))
    results = dict(
        semseg_path=str(tmp_path / 's.png'),
        edge_path=str(tmp_path / 'e.png'),
        label_offset=1,
        num_classes=40,
        ori_shape=(1, 4),
    )
    out = load(results)
    assert out['gt_sem_seg'].tolist() == [[255, 0, 39, 255]]
    assert out['gt_edge'].tolist() == [[0, 1, 0, 1]]
    out = load(dict(results, edge_path=str(tmp_path / 'e.npy'), seg_fields=[]))
    assert out['gt_edge'].tolist() == [[0, 1, 0, 1]]


def test_full_pipeline_packs_all_tasks(nyud_root):
    pipeline = LOAD + [
        dict(type='MultiTaskRandomResize', scale=(48, 32), ratio_range=(1.0, 1.5)),
        dict(type='MultiTaskRandomCrop', crop_size=(24, 32)),
        dict(type='MultiTaskRandomFlip', prob=0.5),
        dict(type='PackMultiTaskInputs'),
    ]
    out = build(nyud_root, pipeline=pipeline)[1]
    sample = out['data_samples']
    assert out['inputs'].shape == (3, 24, 32) and out['inputs'].dtype == torch.uint8
    assert sample.gt_sem_seg.data.shape == (1, 24, 32)
    assert sample.gt_depth_map.data.shape == (1, 24, 32)
    assert sample.gt_normals.data.shape == (3, 24, 32)
    assert sample.gt_edge.data.shape == (1, 24, 32)
    assert sample.tasks == ALL_TASKS and sample.img_shape == (24, 32)


def test_missing_root_message(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        build(tmp_path / 'NYUDv2')
    message = str(err.value)
    assert str(tmp_path / 'NYUDv2') in message  # where it looked
    assert 'gt_sets/' in message and 'segmentation/<id>.png' in message  # the layout
    assert 'make demo' in message and 'make_demo_nyud.py' in message  # how to get the demo


def test_missing_split_file(nyud_root, tmp_path):
    root = copy_root(nyud_root, tmp_path)
    (root / 'gt_sets' / 'val.txt').unlink()
    with pytest.raises(FileNotFoundError, match=r'gt_sets/val\.txt'):
        build(root, split='val')


@pytest.mark.parametrize('folder', ['images', 'segmentation', 'depth', 'normals', 'edge'])
def test_missing_file(nyud_root, tmp_path, folder):
    root = copy_root(nyud_root, tmp_path)
    sid = (root / 'gt_sets' / 'train.txt').read_text().split()[0]
    victim = next((root / folder).glob(f'{sid}.*'))
    victim.unlink()
    with pytest.raises(FileNotFoundError, match=osp.join(folder, sid)):
        build(root)


def test_bad_tasks(nyud_root):
    with pytest.raises(ValueError, match='tasks'):
        build(nyud_root, tasks=('semseg', 'sal'))
    with pytest.raises(ValueError, match='tasks'):
        build(nyud_root, tasks=())


def _corrupt_first(nyud_root, tmp_path, task, write):
    root = copy_root(nyud_root, tmp_path)
    dataset = build(root)
    path = dataset.get_data_info(0)[f'{task}_path']
    write(path)
    return dataset, path


def test_label_out_of_range(nyud_root, tmp_path):
    def write(path):
        label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        label[0, 0] = 41
        cv2.imwrite(path, label)

    dataset, path = _corrupt_first(nyud_root, tmp_path, 'semseg', write)
    with pytest.raises(ValueError, match=r'label ids \[41\] are out of range') as err:
        dataset[0]
    assert path in str(err.value)


@pytest.mark.parametrize('bad', [np.nan, -1.0, np.inf])
def test_bad_depth(nyud_root, tmp_path, bad):
    def write(path):
        depth = np.load(path)
        depth[0, 0] = bad
        np.save(path, depth)

    dataset, path = _corrupt_first(nyud_root, tmp_path, 'depth', write)
    with pytest.raises(ValueError, match='finite and >= 0') as err:
        dataset[0]
    assert path in str(err.value)


def test_size_mismatch(nyud_root, tmp_path):
    def write(path):
        np.save(path, np.ones((5, 7), np.float32))

    dataset, path = _corrupt_first(nyud_root, tmp_path, 'depth', write)
    with pytest.raises(ValueError, match=r'size \(5, 7\) differs from the image size') as err:
        dataset[0]
    assert path in str(err.value)


def _truncate(path):
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[: len(data) // 2])


@pytest.mark.parametrize(
    'task, expected',
    [
        ('semseg', 'an image'),
        ('depth', 'a .npy array'),
        ('normals', 'an image|a .npy array'),
        ('edge', 'an image|a .npy array'),
    ],
)
def test_truncated_annotation_names_the_file(nyud_root, tmp_path, task, expected):
    dataset, path = _corrupt_first(nyud_root, tmp_path, task, _truncate)
    with pytest.raises(ValueError, match=rf'cannot read this file as ({expected})') as err:
        dataset[0]
    assert str(err.value).startswith(path) and 'truncated or corrupt' in str(err.value)


def test_not_an_npy_file_names_the_file(nyud_root, tmp_path):
    def write(path):
        with open(path, 'wb') as f:
            f.write(b'depth in millimetres, one value per line\n')

    dataset, path = _corrupt_first(nyud_root, tmp_path, 'depth', write)
    with pytest.raises(ValueError, match='cannot read this file as a .npy array') as err:
        dataset[0]
    assert str(err.value).startswith(path)


def test_truncated_image_names_the_file(nyud_root, tmp_path):
    root = copy_root(nyud_root, tmp_path)
    dataset = build(root)
    path = dataset.get_data_info(0)['img_path']
    _truncate(path)
    # mmcv's LoadImageFromFile reports it (AssertionError 'failed to load image: <path>').
    with pytest.raises(AssertionError, match=f'failed to load image: {path}'):
        dataset[0]


def test_classes_match_demo_ids():
    from mmkem.datasets.synthetic.rooms import nyud_class_id

    assert nyud_class_id('wall') == 1 and nyud_class_id('otherprop') == 40
    assert NYUD40_CLASSES[nyud_class_id('table') - 1] == 'table'


def test_depth_must_be_2d(nyud_root, tmp_path):
    def write(path):
        np.save(path, np.ones((32, 48, 3), np.float32))

    dataset, path = _corrupt_first(nyud_root, tmp_path, 'depth', write)
    with pytest.raises(ValueError, match=r'expected a \(H, W\) map, got shape \(32, 48, 3\)'):
        dataset[0]


def test_batch_through_data_preprocessor(nyud_root):
    """Dataset -> collate -> MultiTaskDataPreProcessor: padding is invalid, not 255 m of depth."""
    from mmengine.dataset import pseudo_collate
    from mmseg.registry import MODELS

    pipeline = LOAD + [
        dict(type='MultiTaskRandomCrop', crop_size=(30, 40)),
        dict(type='PackMultiTaskInputs'),
    ]
    dataset = build(nyud_root, pipeline=pipeline)
    preprocessor = MODELS.build(
        dict(
            type='MultiTaskDataPreProcessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True,
            size=(32, 48),
        )
    )
    out = preprocessor(pseudo_collate([dataset[0], dataset[1]]), training=True)
    assert out['inputs'].shape == (2, 3, 32, 48)
    for sample in out['data_samples']:
        assert sample.gt_depth_map.shape == (32, 48)
        assert (sample.gt_depth_map.data[:, 30:] == 0).all()
        assert (sample.gt_depth_map.data[:, :, 40:] == 0).all()
        assert (sample.gt_sem_seg.data[:, 30:] == 255).all()
        assert (sample.gt_normals.data[:, :, 40:] == 0).all()
