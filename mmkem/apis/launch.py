"""What ``tools/train.py``, ``tools/test.py`` and ``tools/demo.py`` share: the mmseg command line.

The tools stay thin command lines over these functions, so that each behaves like its mmseg twin and
they cannot drift apart.
"""

import argparse
import logging
import os
import os.path as osp
import re
import sys
from contextlib import contextmanager
from typing import Iterator, Optional, Tuple, Type

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner
from mmseg.registry import RUNNERS

from mmkem.engine import add_skipped_samples_hook, fill_task_config

__all__ = [
    'LaunchError',
    'add_common_args',
    'build_runner',
    'check_data_first',
    'clear_errors',
    'load_config',
    'setup_cpu_distributed',
    'worker_error',
]


class LaunchError(Exception):
    """A tool was started in a way that cannot work (a flag this machine cannot honour); the
    message says what to do instead. :func:`clear_errors` shows it as one line."""


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
    cfg = fill_task_config(cfg)
    add_skipped_samples_hook(cfg)
    return Runner.from_cfg(cfg)


def check_data_first(cfg: Config, workers: Optional[int] = None) -> None:
    """Check every train and val sample (:func:`mmkem.analysis.check_dataset.check_config`).

    Prints one line per problem to stderr and raises :class:`LaunchError` with the summary when
    anything is wrong; logs the summary otherwise. ``tools/train.py --check-data``.

    Args:
        cfg (Config): The loaded config (tasks filled in).
        workers (int, optional): Processes that read the samples. Defaults to None (the train
            dataloader's ``num_workers``).
    """
    from mmkem.analysis.check_dataset import check_config

    if workers is None:
        workers = cfg.train_dataloader.get('num_workers', 0)
    splits = [s for s in ('train', 'val') if cfg.get(f'{s}_dataloader')]
    report = check_config(cfg, splits, workers=workers)
    for problem in report.problems:
        print(problem.line(), file=sys.stderr)
    if not report.ok:
        raise LaunchError(
            f'{report.summary()}\nFix the files above (or leave their ids out of the split), or '
            f'train past them with --skip-bad-samples (docs/troubleshooting.md).'
        )
    print_log(report.summary(), logger='current')


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


_WORKER = re.compile(r'Caught (\w+) in DataLoader worker process (\d+)\.\nOriginal Traceback')


def worker_error(err: BaseException) -> Optional[Tuple[str, str]]:
    """``(type name, message)`` of the original error when torch re-raised ``err`` from a
    DataLoader worker, else None.

    torch re-raises a worker's error in the main process as the same type (or ``RuntimeError``
    when the type cannot be built from one message) whose message is ``'Caught ValueError in
    DataLoader worker process 0.'`` followed by the worker's whole traceback; the original message
    is the part after the last traceback's frames (its first line: ``'<module>.<Type>: ...'``).
    """
    text = str(err)
    match = _WORKER.match(text)
    if match is None:
        return None
    lines = text.rsplit('Traceback (most recent call last):\n', 1)[-1].split('\n')
    start = next((i for i, line in enumerate(lines) if line and not line[0].isspace()), 0)
    final = '\n'.join(lines[start:]).rstrip()
    head, sep, message = final.partition(': ')
    if not sep or ' ' in head:  # 'Type: message'; a bare 'Type' has no message
        message = final if ' ' in head else ''
    return match.group(1), message


def _clear_types() -> tuple:
    from mmkem.datasets.transforms import BadAnnotationError
    from mmkem.engine import CheckpointMismatchError
    from mmkem.models.segmentors import NonFiniteLossError

    return (
        FileNotFoundError,
        CheckpointMismatchError,
        NonFiniteLossError,
        BadAnnotationError,
        LaunchError,
    )


def _clear_message(
    err: BaseException, extra: Tuple[Type[BaseException], ...] = ()
) -> Optional[str]:
    """The message to show for ``err`` when it is one of :func:`clear_errors`'s, else None."""
    from mmkem.datasets.transforms import loading_problem

    types = _clear_types() + tuple(extra)
    wrapped = worker_error(err)
    if wrapped is not None:
        name, message = wrapped
        if name in {t.__name__ for t in types} or (
            name == 'AssertionError' and message.startswith('failed to load image')
        ):
            return (
                message if name != 'AssertionError' else loading_problem(AssertionError(message))[1]
            )
        return None
    if isinstance(err, types):
        return str(err)
    if isinstance(err, AssertionError) and loading_problem(err) is not None:
        return loading_problem(err)[1]
    return None


@contextmanager
def clear_errors(extra: Tuple[Type[BaseException], ...] = ()) -> Iterator[None]:
    """Turn the errors whose message says it all into that message and exit code 1.

    These are: a missing data root, split file, checkpoint or pretrained weights (mmkem's
    datasets say where they looked, the layout they expected and how to get the demo running), a
    bad ground-truth file (:class:`~mmkem.datasets.transforms.BadAnnotationError`, naming the
    file and what was expected), an image mmcv cannot read, a checkpoint that does not match the
    model (:class:`~mmkem.engine.CheckpointMismatchError`), a NaN/Inf loss
    (:class:`~mmkem.models.segmentors.NonFiniteLossError`, naming the task) and a
    :class:`LaunchError`; ``extra`` adds error types a tool raises with such messages
    (``tools/infer.py``: ``ValueError`` for a bad input or task). The same errors raised in a
    DataLoader worker (which torch re-raises wrapped in the worker's traceback,
    :func:`worker_error`) give the same one message. A long traceback through mmengine's runner
    adds nothing to them. Other errors keep their traceback; ``MMKEM_DEBUG=1`` keeps it for these
    too.
    """
    try:
        yield
    except Exception as e:
        message = _clear_message(e, extra)
        if message is None or os.environ.get('MMKEM_DEBUG'):
            raise
        print(f'\nerror: {message}\n(set MMKEM_DEBUG=1 to see the traceback)', file=sys.stderr)
        sys.exit(1)
