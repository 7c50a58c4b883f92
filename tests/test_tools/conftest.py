"""Fixtures of the command-line tests: running a tool as a user would, and a tiny training setup."""

import os.path as osp

import pytest

from mmkem.testing import run_command, tiny_train_config, write_tiny_nyud

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(REPO, 'configs', 'demo', 'kem_effnet-lite0_nyud-demo.py')


@pytest.fixture
def run():
    """:func:`mmkem.testing.run_command`: ``run(cmd, cwd, env_extra=None, timeout=600)``."""
    return run_command


@pytest.fixture(scope='module')
def tiny_setup(tmp_path_factory):
    """A 4 + 2 image demo dataset and a config that trains on it for a few iterations."""
    root = tmp_path_factory.mktemp('tools')
    data_root = str(root / 'nyud')
    write_tiny_nyud(data_root, num_train=4, num_val=2, size=(48, 64), seed=0, num_real=1)
    cfg = root / 'tiny.py'
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadMultiTaskAnnotations'),
        dict(type='MultiTaskRandomCrop', crop_size=(32, 48)),
        dict(type='MultiTaskRandomFlip', prob=0.5),
        dict(type='PackMultiTaskInputs'),
    ]
    default_hooks = dict(
        logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=5, save_best=None)
    )
    cfg.write_text(
        tiny_train_config(
            DEMO_CONFIG, data_root, 2, train_pipeline, default_hooks, scheduler_end=10
        )
    )
    return root, str(cfg), data_root
