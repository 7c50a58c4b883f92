"""Argument checks every multi-task dataset makes before it reads anything."""

import os.path as osp
from typing import Sequence, Tuple

from mmkem.structures import get_task_spec

__all__ = ['check_tasks_and_root']


def check_tasks_and_root(
    dataset_cls: type, tasks: Sequence[str], data_root: str, layout: str
) -> Tuple[str, ...]:
    """Validate a dataset's ``tasks`` and ``data_root``; return the tasks as a tuple.

    Args:
        dataset_cls (type): The dataset class; its ``METAINFO['tasks']`` lists what it provides.
        tasks (Sequence[str]): The requested tasks: a non-empty subset of those, each known to
            ``mmkem.structures.TASK_SPECS``.
        data_root (str): Must be an existing directory.
        layout (str): What the error says is expected there (a layout tree and hints).

    Raises:
        ValueError: ``tasks`` is empty or names a task the dataset does not provide.
        KeyError: A task unknown to mmkem (the message lists the known ones).
        FileNotFoundError: ``data_root`` does not exist; says where it looked and ``layout``.
    """
    tasks = tuple(tasks)
    provided = dataset_cls.METAINFO['tasks']
    if not tasks or any(t not in provided for t in tasks):
        raise ValueError(
            f'tasks={tasks!r}: {dataset_cls.__name__} provides a non-empty subset of {provided!r}'
        )
    for task in tasks:
        get_task_spec(task)
    if not osp.isdir(data_root):
        raise FileNotFoundError(
            f'{dataset_cls.__name__}: data_root {data_root!r} (looked in '
            f'{osp.abspath(data_root)}) does not exist. Expected {layout}'
        )
    return tasks
