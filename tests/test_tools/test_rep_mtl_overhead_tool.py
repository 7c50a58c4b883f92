"""tools/analysis/rep_mtl_overhead.py: its ResNet-18 example (--help) runs, and options that build
no working model stop with one line that says what to set (they used to end in a traceback)."""

import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'analysis', 'rep_mtl_overhead.py')
CONFIG = osp.join(REPO, 'configs', 'rep_mtl', 'hps-rep-mtl_r50-d8_20k_nyuv2-libmtl-288x384.py')
TINY = ['--size', '32', '32', '--batch-size', '1', '--warmup', '0', '--steps', '1', '--rounds', '1']
R18 = [
    'model.backbone.depth=18',
    'model.feature_adapter.in_channels=[256,512]',
    'model.feature_adapter.channels=64',
]


def test_help_shows_the_resnet18_example(tmp_path, run):
    res = run([sys.executable, TOOL, '--help'], cwd=str(tmp_path))
    assert res.returncode == 0, res.stderr[-3000:]
    assert '"model.feature_adapter.in_channels=[256,512]"' in res.stdout
    assert 'model.backbone.depth=18' in res.stdout and 'channels=64' in res.stdout


def test_resnet18_example_runs(tmp_path, run):
    res = run([sys.executable, TOOL, CONFIG, *TINY, '--cfg-options', *R18], cwd=str(tmp_path))
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    assert 'weighting  median step' in res.stdout and 'Rep-MTL overhead' in res.stdout


def test_mismatched_channels_name_the_option_to_set(tmp_path, run):
    cmd = [sys.executable, TOOL, CONFIG, *TINY, '--cfg-options', 'model.backbone.depth=18']
    res = run(cmd, cwd=str(tmp_path))
    assert res.returncode == 1
    assert 'Traceback' not in res.stderr
    assert 'set model.feature_adapter.in_channels=[256,512]' in res.stderr
