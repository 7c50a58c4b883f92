"""Train a model from a config, like mmseg's tools/train.py.

python tools/train.py configs/kem_swin_nyud.py [--work-dir DIR] [--resume [CKPT]] [--amp]
    [--cfg-options key=value ...] [--launcher none|pytorch|slurm|mpi]
"""

import argparse
import logging
import os.path as osp
import sys

# Find mmkem from a source checkout without PYTHONPATH or `pip install -e .`.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import find_latest_checkpoint  # noqa: E402

import mmkem  # noqa: E402,F401  (registers mmkem's modules even if the config has no custom_imports)
from mmkem.apis import add_common_args, build_runner, clear_errors, load_config  # noqa: E402
from mmkem.engine import check_checkpoint_matches  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Train a (multi-task) segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        default=None,
        help='resume from the latest checkpoint in the work_dir (no value) or from CKPT',
    )
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision training')
    add_common_args(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_config(args)

    if args.amp:
        optim_wrapper = cfg.optim_wrapper.type
        if optim_wrapper == 'AmpOptimWrapper':
            print_log(
                'AMP training is already enabled in your config.',
                logger='current',
                level=logging.WARNING,
            )
        else:
            if optim_wrapper != 'OptimWrapper':
                raise ValueError(
                    '--amp is only supported when optim_wrapper.type is OptimWrapper, '
                    f'got {optim_wrapper}'
                )
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
            if not torch.cuda.is_available():
                # float16 autocast is a GPU feature; on CPU autocast runs in bfloat16.
                cfg.optim_wrapper.dtype = 'bfloat16'

    if args.resume == 'auto':
        cfg.resume = True
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    with clear_errors():
        runner = build_runner(cfg)
        if cfg.resume:
            # mmengine resumes with strict=False: refuse another model's checkpoint up front.
            ckpt = cfg.load_from or find_latest_checkpoint(runner.work_dir)
            if ckpt is not None:
                check_checkpoint_matches(runner.model, ckpt, args.config)
        runner.train()


if __name__ == '__main__':
    main()
