"""Train a model from a config, like mmseg's tools/train.py.

python tools/train.py configs/kem_swin_nyud.py [--work-dir DIR] [--resume [CKPT]] [--amp]
    [--check-data] [--skip-bad-samples] [--cfg-options key=value ...]
    [--launcher none|pytorch|slurm|mpi]

--check-data reads every train and val sample first (tools/analysis/check_dataset.py) and stops
before training when anything is wrong; --skip-bad-samples trains on past samples whose files
cannot be read, listing them in <work_dir>/skipped_samples.txt (docs/troubleshooting.md).
"""

import argparse
import logging
import os.path as osp
import sys

# Find mmkem from a source checkout without PYTHONPATH or `pip install -e .`.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.device import (  # noqa: E402
    is_cuda_available,
    is_mlu_available,
    is_musa_available,
    is_npu_available,
)
from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import find_latest_checkpoint  # noqa: E402

import mmkem  # noqa: E402,F401  (registers mmkem's modules even if the config has no custom_imports)
from mmkem.apis import (  # noqa: E402
    LaunchError,
    add_common_args,
    build_runner,
    check_data_first,
    clear_errors,
    explain_missing_weights,
    load_config,
)
from mmkem.engine import add_skipped_samples_hook, check_checkpoint_matches  # noqa: E402


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
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision training (needs a GPU)'
    )
    parser.add_argument(
        '--check-data',
        action='store_true',
        help='read every train and val sample first and stop if any file is bad '
        '(tools/analysis/check_dataset.py)',
    )
    parser.add_argument(
        '--check-workers',
        type=int,
        default=None,
        help="processes of --check-data (default: the train dataloader's num_workers)",
    )
    parser.add_argument(
        '--skip-bad-samples',
        action='store_true',
        help='skip (and list in <work_dir>/skipped_samples.txt) training samples whose files '
        'cannot be read, instead of stopping',
    )
    add_common_args(parser)
    return parser.parse_args()


def main():
    args = parse_args()

    with clear_errors():
        cfg = load_config(args)
        if args.amp:
            optim_wrapper = cfg.optim_wrapper.type
            # mmengine's AmpOptimWrapper asserts one of these devices.
            devices = (is_cuda_available, is_npu_available, is_mlu_available, is_musa_available)
            if not any(available() for available in devices):
                raise LaunchError(
                    "--amp needs a GPU (float16 autocast with loss scaling, mmengine's "
                    'AmpOptimWrapper) and none is visible; train without --amp on this machine'
                )
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

        if args.resume == 'auto':
            cfg.resume = True
        elif args.resume is not None:
            cfg.resume = True
            cfg.load_from = args.resume
        if args.skip_bad_samples:
            add_skipped_samples_hook(cfg, skip=True)
        if args.check_data:
            check_data_first(cfg, args.check_workers)

        runner = build_runner(cfg)
        if cfg.resume:
            # mmengine resumes with strict=False: refuse another model's checkpoint up front.
            ckpt = cfg.load_from or find_latest_checkpoint(runner.work_dir)
            if ckpt is not None:
                check_checkpoint_matches(runner.model, ckpt, args.config)
        with explain_missing_weights(cfg):
            runner.train()


if __name__ == '__main__':
    main()
