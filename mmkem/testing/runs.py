"""Short training runs for tests: a config shrunk to a few iterations on a tiny dataset, the text of
such a config for a fresh interpreter, and running a command the way a user would."""

import os
import subprocess
from typing import Dict, Optional, Sequence

from mmengine.config import Config

__all__ = ['run_command', 'shrink_train_config', 'tiny_train_config']


def run_command(
    cmd: Sequence[str],
    cwd: str,
    env_extra: Optional[Dict[str, str]] = None,
    drop_env: Sequence[str] = ('PYTHONPATH',),
    timeout: float = 600,
) -> subprocess.CompletedProcess:
    """Run ``cmd`` in a fresh process from ``cwd``, as a user would start it.

    The environment is this process's without the variables in ``drop_env`` (by default
    ``PYTHONPATH``, so that the tools must find mmkem themselves), with ``OMP_NUM_THREADS=1`` and
    ``env_extra`` on top.

    Args:
        cmd (Sequence[str]): Program and arguments.
        cwd (str): Working directory.
        env_extra (dict[str, str], optional): Variables to set. Defaults to None.
        drop_env (Sequence[str]): Variables to remove. Defaults to ``('PYTHONPATH',)``.
        timeout (float): Seconds before the process is killed. Defaults to 600.

    Returns:
        subprocess.CompletedProcess: With ``returncode`` and text ``stdout`` / ``stderr``.
    """
    env = {k: v for k, v in os.environ.items() if k not in drop_env}
    env.update(OMP_NUM_THREADS='1', **(env_extra or {}))
    return subprocess.run(
        list(cmd), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def shrink_train_config(
    cfg: Config, data_root: str, work_dir: str, max_iters: int = 2, batch_size: int = 2
) -> Config:
    """Point a training config at a tiny dataset and shorten it to ``max_iters`` iterations.

    Every dataloader reads ``data_root`` in the main process (``num_workers=0``); training takes
    ``batch_size`` samples per iteration and validates and checkpoints after the last one; the
    logger writes every iteration. Everything else (model, pipelines, schedulers) is left as it is.

    Args:
        cfg (Config): A config with ``train_dataloader``, ``val_dataloader``,
            ``test_dataloader``, ``train_cfg`` and ``default_hooks.{checkpoint,logger}``; changed
            in place.
        data_root (str): Root of the dataset.
        work_dir (str): The run's work dir.
        max_iters (int): Training iterations. Defaults to 2.
        batch_size (int): Training batch size. Defaults to 2.

    Returns:
        Config: ``cfg``.
    """
    cfg.work_dir = work_dir
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    cfg.train_dataloader.batch_size = batch_size
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = max_iters
    cfg.default_hooks.checkpoint.interval = max_iters
    cfg.default_hooks.logger.interval = 1
    return cfg


def tiny_train_config(
    base: str,
    data_root: str,
    max_iters: int,
    train_pipeline: Sequence[dict],
    default_hooks: dict,
    scheduler_end: Optional[int] = None,
    custom_hooks: Sequence[dict] = (),
    extra: str = '',
) -> str:
    """Text of a config that inherits ``base`` and trains on a tiny dataset, for a fresh process.

    The config trains with batch 2 and validates / tests with batch 1, all in the main process, on
    ``data_root``; runs ``max_iters`` iterations with one validation at the end; a poly schedule
    (power 0.9) ends at ``scheduler_end``.

    Args:
        base (str): Path of the config to inherit (``_base_``).
        data_root (str): Root of the dataset (the config variable ``data_root``).
        max_iters (int): Training iterations (the config variable ``max_iters``).
        train_pipeline (Sequence[dict]): The training pipeline.
        default_hooks (dict): Overrides of the base's ``default_hooks``.
        scheduler_end (int, optional): Last iteration of the poly schedule. Defaults to None, i.e.
            ``max_iters``.
        custom_hooks (Sequence[dict]): The config's ``custom_hooks``. Defaults to none.
        extra (str): Further config lines, appended last (they may use ``data_root`` and
            ``max_iters``). Defaults to ''.

    Returns:
        str: The config file's text.
    """
    end = max_iters if scheduler_end is None else scheduler_end
    lines = [
        f'_base_ = [{base!r}]',
        f'data_root = {data_root!r}',
        f'max_iters = {max_iters}',
        f'train_pipeline = {list(train_pipeline)!r}',
        'train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,',
        '                        dataset=dict(data_root=data_root, pipeline=train_pipeline))',
        'val_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,',
        '                      dataset=dict(data_root=data_root))',
        'test_dataloader = val_dataloader',
        'train_cfg = dict(max_iters=max_iters, val_interval=max_iters)',
        f"param_scheduler = [dict(type='PolyLR', power=0.9, begin=0, end={end}, by_epoch=False)]",
        f'default_hooks = {default_hooks!r}',
        f'custom_hooks = {list(custom_hooks)!r}',
    ]
    return '\n'.join(lines) + '\n' + extra
