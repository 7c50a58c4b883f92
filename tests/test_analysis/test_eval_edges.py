"""tools/analysis/eval_edges.py on a dataset in the NYUD-v2 release layout and saved predictions."""

import json
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmengine.config import Config

import mmkem  # noqa: F401  (registers the modules)
from mmkem.analysis.eval_edges import evaluate_edge_folder
from mmkem.engine import fill_task_config
from mmkem.evaluation import functional as F
from mmkem.testing import write_tiny_nyud

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'configs', 'demo', 'kem_effnet-lite0_nyud-demo.py')


def _config(root):
    cfg = Config.fromfile(DEMO)
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = str(root)
    cfg.tasks = ['semseg', 'edge']
    return fill_task_config(cfg)


@pytest.fixture(scope='module')
def nyud(tmp_path_factory):
    root = tmp_path_factory.mktemp('nyud_edges')
    ids = write_tiny_nyud(str(root), 'png', 2, 3, (40, 56), seed=5, num_real=0)
    return root, ids['val']


def _write_predictions(root, ids, out, fn):
    """``out/edge/<id>.png`` = fn(SEISM's ground truth of the id), as tools/test.py --out saves."""
    (out / 'edge').mkdir(parents=True, exist_ok=True)
    for sample_id in ids:
        labels = cv2.imread(str(root / 'edge' / f'{sample_id}.png'), cv2.IMREAD_UNCHANGED)
        prob = fn(F.seg2bmap(labels).astype(np.float32))
        cv2.imwrite(str(out / 'edge' / f'{sample_id}.png'), np.rint(prob * 255).astype(np.uint8))


def test_perfect_prediction_scores_100_and_a_shift_costs_only_beyond_tolerance(nyud, tmp_path):
    root, ids = nyud
    cfg = _config(root)
    exact = tmp_path / 'exact'
    _write_predictions(root, ids, exact, lambda gt: gt)
    plain = dict(nms=False, apply_thin=False, thresholds=(0.5,), progress=False)
    out = evaluate_edge_folder(cfg, str(exact), split='val', **plain)
    assert out['num_images'] == len(ids)
    assert out['metrics']['odsF'] == pytest.approx(100.0)
    assert out['metrics']['oisF'] == pytest.approx(100.0)
    # a two-pixel shift: matched within 0.05 of the diagonal (3.4 px), not within 0.02 (1.4 px)
    shifted = tmp_path / 'shifted'
    _write_predictions(root, ids, shifted, lambda gt: np.roll(gt, 2, axis=1))
    near = evaluate_edge_folder(cfg, str(shifted), split='val', max_dist=0.05, **plain)
    far = evaluate_edge_folder(cfg, str(shifted), split='val', max_dist=0.02, **plain)
    assert near['metrics']['odsF'] > 90 > far['metrics']['odsF']
    # the counts are the functional ones of the same maps
    first = out['per_image'][0]
    assert first['cnt_r'] == first['sum_r'] == first['sum_p']


def test_missing_prediction_is_named(nyud, tmp_path):
    root, ids = nyud
    out = tmp_path / 'partial'
    _write_predictions(root, ids[:1], out, lambda gt: gt)
    with pytest.raises(FileNotFoundError, match=ids[1]):
        evaluate_edge_folder(_config(root), str(out), split='val', progress=False)
    with pytest.raises(FileNotFoundError, match='tools/test.py --out'):
        evaluate_edge_folder(_config(root), str(tmp_path / 'none'), split='val', progress=False)


def test_command_line_writes_json_and_pr_curve(nyud, tmp_path):
    root, ids = nyud
    preds = tmp_path / 'preds'
    _write_predictions(root, ids, preds, lambda gt: np.clip(gt * 0.8 + 0.1, 0, 1))
    cfg_path = tmp_path / 'cfg.py'
    _config(root).dump(str(cfg_path))
    cmd = [sys.executable, osp.join(REPO, 'tools', 'analysis', 'eval_edges.py'), str(cfg_path)]
    cmd += [str(preds), '--split', 'val', '--thresholds', '5', '--workers', '2', '--max-dist']
    cmd += ['0.011']
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert 'odsF' in done.stdout and 'NOT the benchmark protocol' in done.stdout
    result = json.loads((preds / 'edge_benchmark.json').read_text())
    assert result['settings']['num_thresholds'] == 5 and result['settings']['max_dist'] == 0.011
    assert set(result['metrics']) >= {'odsF', 'oisF', 'AP'}
    assert len(result['curve']['precision']) == 5
    assert (preds / 'edge_pr_curve.png').stat().st_size > 1000
