"""Training that is killed, resumed, repeated: nothing lost, same numbers.

- A run killed with SIGKILL after a checkpoint and continued with ``tools/train.py --resume`` ends
  with the same weights, optimizer state, loss-weighting (DWA) state and metrics as an
  uninterrupted run of the same seed.
- Two runs with the same seed and ``randomness.deterministic=True`` log identical losses and
  metrics.
- ``tools/test.py`` refuses another model's checkpoint and a truncated one with one clear message.

Each run is a fresh interpreter on a tiny demo dataset, as a user would start it.
"""

import glob
import json
import os.path as osp
import sys
import textwrap

import pytest
import torch

from mmkem.testing import run_command, tiny_train_config, write_tiny_nyud

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(REPO, 'configs', 'demo', 'kem_effnet-lite0_nyud-demo.py')
TRAIN = osp.join(REPO, 'tools', 'train.py')
TEST = osp.join(REPO, 'tools', 'test.py')

# A hook that kills its own process with SIGKILL (no clean-up, no atexit, no flush) after the
# iteration named by $MMKEM_KILL_AT_ITER; it runs after the checkpoint hook of that iteration.
KILL_HOOK = """
import os
import signal

from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class KillAtIterHook(Hook):
    priority = 'LOWEST'

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        kill_at = int(os.environ.get('MMKEM_KILL_AT_ITER', '0'))
        if kill_at and runner.iter + 1 == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
"""


def run(cmd, cwd, env_extra=None):
    return run_command(cmd, cwd, env_extra, drop_env=('PYTHONPATH', 'MMKEM_KILL_AT_ITER'))


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """Tiny dataset, the kill hook module, and a 6-iteration config with checkpoints every 2
    iterations, DWA loss weighting, stochastic depth (uses the RNG) and random augmentation."""
    root = tmp_path_factory.mktemp('interrupted')
    data_root = str(root / 'nyud')
    write_tiny_nyud(data_root, num_train=6, num_val=2, size=(48, 64), seed=0, num_real=1)
    (root / 'kill_hook.py').write_text(KILL_HOOK)
    cfg = root / 'tiny.py'
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadMultiTaskAnnotations'),
        dict(type='MultiTaskRandomResize', scale=(64, 48), ratio_range=(1.0, 1.3), keep_ratio=True),
        dict(type='MultiTaskRandomCrop', crop_size=(32, 48)),
        dict(type='MultiTaskRandomFlip', prob=0.5),
        dict(type='PackMultiTaskInputs'),
    ]
    default_hooks = dict(
        logger=dict(interval=1), checkpoint=dict(interval=2, max_keep_ckpts=10, save_best=None)
    )
    extra = textwrap.dedent("""
        custom_imports = dict(imports=['mmkem', 'kill_hook'], allow_failed_imports=False)
        tasks = ['semseg', 'depth', 'normals']
        model = dict(
            task_encoder=dict(drop_path_rate=0.2),
            loss_weighting=dict(_delete_=True, type='DWALossWeighting', tasks=tasks,
                                temperature=2.0, update_interval=1),
        )
        randomness = dict(seed=3)
    """)
    cfg.write_text(
        tiny_train_config(
            DEMO_CONFIG,
            data_root,
            6,
            train_pipeline,
            default_hooks,
            custom_hooks=[dict(type='KillAtIterHook')],
            extra=extra,
        )
    )
    return root, str(cfg)


def _scalars(work_dir):
    """The training losses per iteration and the final validation metrics mmengine logged."""
    losses, metrics = {}, {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                entry = json.loads(line)
                if 'loss' in entry:
                    losses[entry['iter']] = {k: v for k, v in entry.items() if 'loss' in k}
                elif any('/' in k for k in entry):
                    metrics = {k: v for k, v in entry.items() if '/' in k or k == 'delta_m'}
    return losses, metrics


def _train(setup, work_dir, *extra, kill_at=None):
    root, cfg = setup
    env = dict(PYTHONPATH=str(root))
    if kill_at is not None:
        env['MMKEM_KILL_AT_ITER'] = str(kill_at)
    return run([sys.executable, TRAIN, cfg, '--work-dir', work_dir, *extra], str(root), env)


def test_sigkill_then_resume_equals_an_uninterrupted_run(setup):
    root, _ = setup
    full_dir, cut_dir = str(root / 'full'), str(root / 'cut')
    res = _train(setup, full_dir)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]

    # Killed after iteration 5: iter_4.pth is the last checkpoint, iteration 5 is lost.
    res = _train(setup, cut_dir, kill_at=5)
    assert res.returncode == -9, (res.stdout + res.stderr)[-3000:]
    assert osp.isfile(osp.join(cut_dir, 'iter_4.pth'))
    assert not osp.exists(osp.join(cut_dir, 'iter_6.pth'))
    assert not glob.glob(osp.join(cut_dir, '.*.tmp'))  # the atomic writer left nothing behind

    res = _train(setup, cut_dir, '--resume')
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-3000:]
    assert 'resumed' in log.lower() and 'Iter(train) [5/6]' in log

    full = torch.load(osp.join(full_dir, 'iter_6.pth'), map_location='cpu', weights_only=False)
    cut = torch.load(osp.join(cut_dir, 'iter_6.pth'), map_location='cpu', weights_only=False)
    assert full['state_dict'].keys() == cut['state_dict'].keys()
    assert any('loss_history' in k for k in full['state_dict'])  # DWA state is in the checkpoint
    for key, value in full['state_dict'].items():
        torch.testing.assert_close(cut['state_dict'][key], value, rtol=0, atol=0, msg=key)
    for group_full, group_cut in zip(
        full['optimizer']['state'].values(), cut['optimizer']['state'].values()
    ):
        for name in group_full:
            torch.testing.assert_close(group_cut[name], group_full[name], rtol=0, atol=0)
    assert full['param_schedulers'] == cut['param_schedulers']

    full_losses, full_metrics = _scalars(full_dir)
    cut_losses, cut_metrics = _scalars(cut_dir)
    assert full_metrics and full_metrics == cut_metrics
    for it in (5, 6):  # the iterations after the resume
        assert cut_losses[it] == full_losses[it]


def test_same_seed_deterministic_runs_are_identical(setup):
    root, _ = setup
    runs = []
    for name in ('det_a', 'det_b'):
        work_dir = str(root / name)
        res = _train(setup, work_dir, '--cfg-options', 'randomness.deterministic=True')
        assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
        runs.append(_scalars(work_dir))
    (losses_a, metrics_a), (losses_b, metrics_b) = runs
    assert len(losses_a) == 6 and losses_a == losses_b
    assert metrics_a and metrics_a == metrics_b


def test_test_tool_refuses_another_models_and_truncated_checkpoints(setup):
    root, cfg = setup
    work_dir = str(root / 'full')
    ckpt = osp.join(work_dir, 'iter_6.pth')
    if not osp.isfile(ckpt):
        res = _train(setup, work_dir)
        assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]

    # The same training config with SKEM instead of KEM: the interaction's weights differ.
    env = dict(PYTHONPATH=str(root))
    other = [sys.executable, TEST, cfg, ckpt, '--work-dir', str(root / 't')]
    res = run(other + ['--cfg-options', 'model.interaction.type=SKEM'], str(root), env)
    assert res.returncode == 1, (res.stdout + res.stderr)[-3000:]
    assert f'checkpoint {ckpt} does not match the model' in res.stderr
    assert 'interaction.core' in res.stderr and 'Traceback' not in res.stderr

    truncated = str(root / 'truncated.pth')
    with open(ckpt, 'rb') as src, open(truncated, 'wb') as dst:
        dst.write(src.read()[:4096])
    res = run([sys.executable, TEST, cfg, truncated, '--work-dir', str(root / 't')], str(root), env)
    assert res.returncode == 1
    assert f'cannot read checkpoint {truncated}' in res.stderr and 'truncated' in res.stderr

    res = run([sys.executable, TEST, cfg, ckpt, '--work-dir', str(root / 't')], str(root), env)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
