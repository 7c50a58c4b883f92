"""tools/test.py's own flags: --out writes every task's prediction files, --tta predicts with the
segmentor's flip TTA, --show-dir paints every test image with only the test data present."""

import glob
import os
import os.path as osp
import shutil
import sys

import numpy as np
import pytest

import mmkem  # noqa: F401
from mmkem.apis import MultiTaskInferencer
from mmkem.testing import run_command, save_model_checkpoint
from mmkem.utils.prediction_io import load_predictions

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TASKS = ['semseg', 'depth', 'normals']


@pytest.fixture(scope='module')
def checkpoint(tiny_setup):
    root, cfg, _ = tiny_setup
    return save_model_checkpoint(cfg, str(root / 'untrained.pth'))


def _test(cfg, ckpt, cwd, *extra):
    cmd = [sys.executable, osp.join(REPO, 'tools', 'test.py'), cfg, ckpt, *extra]
    res = run_command(cmd, cwd=str(cwd))
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    return res


def _val_stems(data_root):
    with open(osp.join(data_root, 'gt_sets', 'val.txt')) as f:
        return [line.strip() for line in f if line.strip()]


def _image(data_root, stem):
    return glob.glob(osp.join(data_root, 'images', f'{stem}.*'))[0]


def test_show_dir_with_only_the_test_data(tiny_setup, checkpoint, tmp_path):
    """--show-dir used to build the training loop (mmseg's visualization hook reads runner.iter)
    and stopped on the missing training data."""
    _, cfg, data_root = tiny_setup
    test_only = str(tmp_path / 'nyud_test_only')
    shutil.copytree(data_root, test_only)
    os.remove(osp.join(test_only, 'gt_sets', 'train.txt'))
    show = tmp_path / 'show'
    roots = [f'{k}_dataloader.dataset.data_root={test_only}' for k in ('train', 'val', 'test')]
    args = ['--work-dir', str(tmp_path / 'work'), '--show-dir', str(show), '--cfg-options']
    res = _test(cfg, checkpoint, tmp_path, *args, *roots)
    assert 'depth/rmse' in res.stdout + res.stderr
    panels = sorted(osp.basename(p) for p in glob.glob(str(show / 'test' / '*.png')))
    assert panels == sorted(f'{s}.png' for s in _val_stems(test_only))


def test_out_writes_the_flip_tta_predictions_of_every_image(tiny_setup, checkpoint, tmp_path):
    """--out used to crash (MultiTaskMetric has no output_dir); --tta used to read
    cfg.tta_pipeline / cfg.tta_model, which no mmkem config has. Now --out writes the
    inferencer's files and --tta predicts with the segmentor's flip TTA."""
    _, cfg, data_root = tiny_setup
    out = tmp_path / 'out'
    args = ['--work-dir', str(tmp_path / 'w'), '--tta', '--out', str(out)]
    res = _test(cfg, checkpoint, tmp_path, *args)
    assert 'depth/rmse' in res.stdout + res.stderr
    stems = _val_stems(data_root)
    images = [_image(data_root, s) for s in stems]
    flip = MultiTaskInferencer(
        cfg, checkpoint, device='cpu', test_cfg=dict(flip=True), show_progress=False
    )
    plain = MultiTaskInferencer(cfg, checkpoint, device='cpu', show_progress=False)
    with_flip, without = flip(images)['predictions'], plain(images)['predictions']
    assert sorted(osp.basename(p) for p in glob.glob(str(out / 'semseg' / '*'))) == sorted(
        f'{s}.png' for s in stems
    )
    for stem, pred, unflipped in zip(stems, with_flip, without):
        back = load_predictions(str(out), stem, TASKS)
        assert (back['semseg'][0] == pred['semseg']).mean() > 0.99
        np.testing.assert_allclose(back['depth'][0], pred['depth'], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(back['normals'], pred['normals'], atol=1e-4)
        assert osp.isfile(out / 'depth' / f'{stem}.png')
        assert np.abs(back['depth'][0] - unflipped['depth']).max() > 1e-3  # the flip counted
