"""MultiTaskDataset: the missing files the dataset check collects, and the opt-in skip policy."""

import logging
import os
import shutil

import pytest
from mmseg.registry import DATASETS, TRANSFORMS

from mmkem.datasets import base, collect_missing_files
from mmkem.testing import corrupt_file, write_tiny_nyud

LOAD = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='PackMultiTaskInputs'),
]


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp('base')
    write_tiny_nyud(str(root), 'png', 4, 1, (24, 32), seed=2, num_real=0)
    return root


def build(root, **kwargs):
    cfg = dict(type='NYUDv2Dataset', data_root=str(root), tasks=('semseg', 'depth', 'normals'))
    return DATASETS.build(dict(cfg, **{'pipeline': LOAD, **kwargs}))


def copy(tiny, tmp_path):
    root = tmp_path / 'nyud'
    shutil.copytree(tiny, root)
    return root


def test_missing_files_are_collected_only_when_asked(tiny, tmp_path):
    root = copy(tiny, tmp_path)
    ids = sorted((root / 'gt_sets' / 'train.txt').read_text().split())
    os.remove(root / 'depth' / f'{ids[0]}.npy')
    os.remove(root / 'normals' / f'{ids[2]}.png')
    with pytest.raises(FileNotFoundError, match=ids[0]):
        build(root)
    with collect_missing_files() as missing:
        dataset = build(root)
    kept = [dataset.get_data_info(i)['sample_id'] for i in range(len(dataset))]
    assert kept == [ids[1], ids[3]]
    assert len(missing) == 2
    assert f"id '{ids[0]}'" in missing[0] and str(root / 'depth' / f'{ids[0]}.npy') in missing[0]
    assert f"id '{ids[2]}'" in missing[1] and 'normals' in missing[1]
    with pytest.raises(FileNotFoundError):  # the context is over
        build(root)


def test_policy_is_checked_and_off_by_default(tiny):
    assert build(tiny).bad_samples == 'raise'
    with pytest.raises(ValueError, match=r"bad_samples must be one of \('raise', 'skip'\)"):
        build(tiny, bad_samples='ignore')


def test_skip_draws_another_sample_and_hands_the_skipped_one_on(tiny, tmp_path, monkeypatch):
    root = copy(tiny, tmp_path)
    bad = build(root).get_data_info(1)
    corrupt_file(bad['depth_path'], 'depth_millimetres')
    with pytest.raises(ValueError, match='max_depth'):
        build(root)[1]
    dataset = build(root, bad_samples='skip')
    logged = []
    monkeypatch.setattr(base, 'print_log', lambda msg, **kwargs: logged.append((msg, kwargs)))
    out = dataset[1]
    sample = out['data_samples']
    assert sample.sample_id != bad['sample_id']
    (record,) = sample.metainfo['skipped_samples']
    assert record['sample_id'] == bad['sample_id'] and record['index'] == 1
    assert record['img_path'] == bad['img_path']
    assert record['problem'] == 'depth implausible' and 'max_depth=100 m' in record['error']
    ((message, kwargs),) = logged
    assert f'skipped bad sample {bad["sample_id"]}' in message and record['error'] in message
    assert kwargs['level'] == logging.WARNING
    # handed on once: the next sample carries no record
    assert 'skipped_samples' not in dataset[0]['data_samples'].metainfo


def test_skip_keeps_test_mode_and_bugs_raising(tiny, tmp_path):
    root = copy(tiny, tmp_path)
    corrupt_file(build(root).get_data_info(0)['normals_path'], 'normals_grey')
    with pytest.raises(ValueError, match='one grey channel'):
        build(root, bad_samples='skip', test_mode=True)[0]

    @TRANSFORMS.register_module(force=True)
    class _Buggy:
        def __call__(self, results):
            raise KeyError('a bug, not bad data')

    with pytest.raises(KeyError, match='a bug'):
        build(tiny, bad_samples='skip', pipeline=[dict(type='_Buggy')])[0]
