"""tools/analysis/sweep.py as a user runs it: a clear error before anything runs, the dry run, and
one real tiny sweep of two tools/train.py runs (plus its resume and a failing run). The sweep's
logic is tested in tests/test_analysis/test_sweep.py."""

import csv
import os.path as osp
import shlex
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(REPO, 'configs', 'demo', 'kem_effnet-lite0_nyud-demo.py')
SWEEP = osp.join(REPO, 'tools', 'analysis', 'sweep.py')
TRAIN = osp.join(REPO, 'tools', 'train.py')


def test_unknown_config_key_stops_the_command_before_anything_runs(tmp_path, run):
    work_dir = tmp_path / 'w'
    cmd = [sys.executable, SWEEP, DEMO_CONFIG, '--grid', 'model.nek.topk=1,2']
    res = run(cmd + ['--work-dir', str(work_dir)], cwd=str(tmp_path))
    assert res.returncode == 2 and "'model.nek.topk'" in res.stderr, res.stderr[-3000:]
    assert not work_dir.exists()


def test_dry_run_prints_one_train_command_per_run(tmp_path, run):
    work_dir = tmp_path / 'w'
    cmd = [
        sys.executable,
        SWEEP,
        DEMO_CONFIG,
        '--grid',
        'model.interaction.topk=1,3',
        '--seeds',
        '0',
    ]
    cmd += ['--work-dir', str(work_dir), '--cfg-options', 'train_cfg.max_iters=5', '--dry-run']
    res = run(cmd, cwd=str(tmp_path))
    assert res.returncode == 0, res.stderr[-3000:]
    lines = [shlex.split(line) for line in res.stdout.strip().splitlines()]
    assert [line[1:] for line in lines] == [
        [TRAIN, DEMO_CONFIG, '--work-dir', str(work_dir / f'topk={k},seed=0'), '--cfg-options',
         'train_cfg.max_iters=5', f'model.interaction.topk={k}', 'randomness.seed=0']
        for k in (1, 3)
    ]  # fmt: skip
    assert not work_dir.exists()


def test_tiny_sweep_end_to_end(tiny_setup, run):
    """Two real runs of tools/train.py side by side (--jobs 2), the tables, then a resume that
    adds one failing run."""
    root, cfg, _ = tiny_setup
    work_dir = root / 'sweep'
    cmd = [sys.executable, SWEEP, cfg]
    cmd += [
        '--seeds',
        '0',
        '--work-dir',
        str(work_dir),
        '--cfg-options',
        'default_hooks.checkpoint.interval=2',
    ]
    res = run(cmd + ['--grid', 'model.interaction.num_slots=4,8', '--jobs', '2'], cwd=str(root))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    for name in ('sweep.csv', 'summary.csv', 'summary.md'):
        assert (work_dir / name).is_file()
    with open(work_dir / 'sweep.csv') as f:
        raw = list(csv.DictReader(f))
    assert [r['run'] for r in raw] == ['num_slots=4,seed=0', 'num_slots=8,seed=0']
    assert all(r['status'] == 'ok' and 0 <= float(r['semseg/mIoU']) <= 100 for r in raw)
    assert float(raw[0]['depth/rmse']) > 0
    with open(work_dir / 'summary.csv') as f:
        summary = list(csv.DictReader(f))
    assert [(r['num_slots'], r['seeds'], r['status']) for r in summary] == [
        ('4', '1', 'ok'),
        ('8', '1', 'ok'),
    ]
    assert float(summary[1]['semseg/mIoU mean']) == float(raw[1]['semseg/mIoU'])
    assert summary[1]['semseg/mIoU std'] == ''
    assert (work_dir / 'summary.md').read_text() in res.stdout

    # The same sweep with one more value: the finished runs are skipped; num_slots=0 fails in
    # KEM's __init__ and is reported in the table with its log, not fatal to the sweep.
    res = run(cmd + ['--grid', 'model.interaction.num_slots=4,8,0'], cwd=str(root))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert res.stdout.count('already done') == 2, res.stdout[-3000:]
    with open(work_dir / 'summary.csv') as f:
        summary = list(csv.DictReader(f))
    assert [r['num_slots'] for r in summary] == ['4', '8', '0']
    failed = summary[2]
    log = work_dir / 'num_slots=0,seed=0' / 'sweep_train.log'
    assert failed['seeds'] == '0' and failed['status'] == f'seed 0 failed (exit 1): {log}'
    assert failed['semseg/mIoU mean'] == ''
    assert 'num_slots must be >= 1' in log.read_text()
