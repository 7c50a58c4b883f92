"""Fixtures of the command-line tests: running a tool as a user would, and a tiny training setup."""

import os
import os.path as osp
import subprocess
import textwrap

import pytest

from mmkem.datasets.demo_nyud import make_demo_nyud

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(REPO, 'configs', 'demo', 'kem_effnet-lite0_nyud-demo.py')


def run_command(cmd, cwd, env_extra=None, timeout=600):
    """Run ``cmd`` in a fresh process without ``PYTHONPATH`` (the tools find their checkout)."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env.update(OMP_NUM_THREADS='1', **(env_extra or {}))
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def run():
    """:func:`run_command`: ``run(cmd, cwd, env_extra=None, timeout=600)``."""
    return run_command


@pytest.fixture(scope='module')
def tiny_setup(tmp_path_factory):
    """A 4 + 2 image demo dataset and a config that trains on it for a few iterations."""
    root = tmp_path_factory.mktemp('tools')
    data_root = str(root / 'nyud')
    make_demo_nyud(data_root, num_train=4, num_val=2, size=(48, 64), seed=0, num_real=1)
    cfg = root / 'tiny.py'
    cfg.write_text(
        textwrap.dedent(f"""
        _base_ = [{DEMO_CONFIG!r}]
        data_root = {data_root!r}
        max_iters = 2
        train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                                dataset=dict(data_root=data_root))
        val_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,
                              dataset=dict(data_root=data_root))
        test_dataloader = val_dataloader
        train_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='LoadMultiTaskAnnotations'),
            dict(type='MultiTaskRandomCrop', crop_size=(32, 48)),
            dict(type='MultiTaskRandomFlip', prob=0.5),
            dict(type='PackMultiTaskInputs'),
        ]
        train_dataloader['dataset']['pipeline'] = train_pipeline
        train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
        param_scheduler = [dict(type='PolyLR', power=0.9, begin=0, end=10, by_epoch=False)]
        default_hooks = dict(logger=dict(interval=1),
                             checkpoint=dict(interval=1, max_keep_ckpts=5, save_best=None))
        custom_hooks = []
    """)
    )
    return root, str(cfg), data_root
