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
from typing import Iterator, Tuple, Type

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner
from mmseg.registry import RUNNERS

from mmkem.engine import fill_task_config

__all__ = [
    'add_common_args',
    'build_runner',
    'clear_errors',
    'load_config',
    'setup_cpu_distributed',
]


def add_common_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the arguments every mmseg tool takes: --work-dir, --cfg-options, --launcher."""
    parser.add_argument('--work-dir', help='the directory to save logs and models')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as key=value pairs (mmseg syntax), e.g. '
        'model.interaction.num_slots=10 train_cfg.max_iters=100',
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

    The config's top-level ``tasks`` and ``num_classes`` are then filled into the model, the
    datasets and the evaluators (:func:`mmkem.engine.fill_task_config`), so ``--cfg-options
    tasks="['semseg','depth']"`` changes the task list everywhere.

    Without a GPU, ``--launcher pytorch`` is prepared for the CPU (see
    :func:`setup_cpu_distributed`), so that ``tools/dist_train.sh`` also runs on CPU-only machines.
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
    if args.launcher == 'pytorch' and not torch.cuda.is_available():
        setup_cpu_distributed(cfg)
    return fill_task_config(cfg)


def build_runner(cfg: Config) -> Runner:
    """The config's ``runner_type`` (mmkem's configs: ``MultiTaskRunner``), else mmengine's Runner.

    As mmseg's tools do.
    """
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(fill_task_config(cfg))


def setup_cpu_distributed(cfg: Config) -> None:
    """Run mmengine's ``pytorch`` launcher on CPU-only machines.

    mmengine 0.10.7's launcher always calls ``torch.cuda.set_device`` and wraps the model in DDP
    with ``device_ids=[LOCAL_RANK]``; both fail without a GPU. So the process group is started here
    with ``gloo`` from torchrun's environment (mmengine then skips its own initialisation), and the
    model is wrapped with ``device_ids=None``, as DDP requires for CPU modules.
    """
    import torch.distributed as dist

    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
    if not dist.is_initialized():
        dist.init_process_group(backend=dist_cfg['backend'])
    print_log(
        f'no GPU visible: distributed run on CPU with the {dist_cfg["backend"]} backend '
        f'(rank {dist.get_rank()} of {dist.get_world_size()})',
        logger='current',
        level=logging.WARNING,
    )
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False
    )
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


@contextmanager
def clear_errors(extra: Tuple[Type[BaseException], ...] = ()) -> Iterator[None]:
    """Turn the errors whose message says it all into that message and exit code 1.

    These are: a missing data root, split file or checkpoint (mmkem's datasets say where they
    looked, the layout they expected and how to get the demo running), a checkpoint that does not
    match the model (:class:`~mmkem.engine.CheckpointMismatchError`) and a NaN/Inf loss
    (:class:`~mmkem.models.segmentors.NonFiniteLossError`, naming the task). A long traceback
    through mmengine's runner adds nothing to them. ``extra`` adds error types a tool raises
    with such messages (``tools/infer.py``: ``ValueError`` for a bad input or task). Other errors
    keep their traceback; ``MMKEM_DEBUG=1`` keeps it for these too.
    """
    from mmkem.engine import CheckpointMismatchError
    from mmkem.models.segmentors import NonFiniteLossError

    try:
        yield
    except (FileNotFoundError, CheckpointMismatchError, NonFiniteLossError, *extra) as e:
        if os.environ.get('MMKEM_DEBUG'):
            raise
        print(f'\nerror: {e}\n(set MMKEM_DEBUG=1 to see the traceback)', file=sys.stderr)
        sys.exit(1)
