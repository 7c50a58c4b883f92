"""What ``tools/train.py``, ``tools/test.py`` and ``tools/demo.py`` share: the mmseg command line.

The tools stay thin command lines over these functions, so that each behaves like its mmseg twin and
they cannot drift apart.
"""

import argparse
import logging
import os
import os.path as osp
import sys
from contextlib import contextmanager
from typing import Iterator

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log

__all__ = ['add_common_args', 'load_config', 'clear_errors']


def add_common_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the arguments every mmseg tool takes: --work-dir, --cfg-options, --launcher."""
    parser.add_argument('--work-dir', help='the directory to save logs and models')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as key=value pairs (mmseg syntax), e.g. '
        'model.neck.num_slots=10 train_cfg.max_iters=100',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher',
    )
    # torch.distributed passes --local-rank (torch >= 2.0) or --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def load_config(args: argparse.Namespace) -> Config:
    """Read the config, apply --cfg-options, --work-dir and --launcher like mmseg's tools do.

    Also picks the ``gloo`` process-group backend when the config asks for ``nccl`` but no GPU is
    visible, so that ``tools/dist_train.sh`` runs on CPU-only machines as well.
    """
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file {args.config!r} does not exist')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    if args.launcher != 'none' and not torch.cuda.is_available():
        if dist_cfg.get('backend', 'nccl') == 'nccl':
            print_log(
                'no GPU visible: using the gloo process-group backend instead of nccl',
                logger='current',
                level=logging.WARNING,
            )
            dist_cfg['backend'] = 'gloo'
    return cfg


@contextmanager
def clear_errors() -> Iterator[None]:
    """Turn a missing data root, split file or checkpoint into one clear message and exit code 1.

    mmkem's datasets raise ``FileNotFoundError`` with a message that says where they looked, the
    layout they expected and how to get the demo running; a long traceback through mmengine's
    runner adds nothing to that. Other errors keep their traceback; ``MMKEM_DEBUG=1`` keeps it for
    these too.
    """
    try:
        yield
    except FileNotFoundError as e:
        if os.environ.get('MMKEM_DEBUG'):
            raise
        print(f'\nerror: {e}\n(set MMKEM_DEBUG=1 to see the traceback)', file=sys.stderr)
        sys.exit(1)
