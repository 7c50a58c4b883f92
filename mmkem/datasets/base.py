"""What mmkem's multi-task datasets share: constructor, task and data-root checks, split files."""

import os.path as osp
from typing import Callable, List, Optional, Sequence, Tuple, Union

from mmengine.dataset import BaseDataset

from mmkem.structures import get_task_spec

__all__ = ['MultiTaskDataset']


class MultiTaskDataset(BaseDataset):
    """Base of the multi-task datasets: one ``<task>_path`` per task in each item.

    Subclasses set ``METAINFO`` (with the ``tasks`` the release provides), ``DEFAULT_TASKS``,
    ``LAYOUT_NAME`` and ``LAYOUT`` (shown in every error about missing files), optionally
    ``MISSING_ROOT_HINT`` and ``SPLIT_FILE`` (the id list of ``'train'`` / ``'val'`` relative to
    ``data_root``, with ``{split}``; None when splits are folders), and implement
    ``load_data_list``. The arguments are those of the subclasses (see their docstrings).

    Raises:
        ValueError: ``tasks`` is empty or names a task the dataset does not provide.
        KeyError: A task unknown to ``mmkem.structures.TASK_SPECS``.
        FileNotFoundError: ``data_root`` does not exist; says where it looked and the layout.
    """

    DEFAULT_TASKS: Tuple[str, ...] = ()
    LAYOUT_NAME: str = ''
    LAYOUT: str = ''
    MISSING_ROOT_HINT: str = ''
    SPLIT_FILE: Optional[str] = None

    def __init__(
        self,
        data_root: str,
        split: str = 'train',
        tasks: Optional[Sequence[str]] = None,
        pipeline: Sequence[Union[dict, Callable]] = (),
        test_mode: bool = False,
        metainfo: Optional[dict] = None,
        indices: Optional[Union[int, Sequence[int]]] = None,
        serialize_data: bool = True,
        lazy_init: bool = False,
        max_refetch: int = 1000,
    ) -> None:
        self.tasks = self._check_tasks(self.DEFAULT_TASKS if tasks is None else tasks)
        if not osp.isdir(data_root):
            hint = f'\n{self.MISSING_ROOT_HINT}' if self.MISSING_ROOT_HINT else ''
            raise FileNotFoundError(
                f'{type(self).__name__}: data_root {data_root!r} (looked in '
                f'{osp.abspath(data_root)}) does not exist. Expected {self.LAYOUT_NAME}:\n'
                f'{self.LAYOUT}{hint}'
            )
        self.split = split
        ann_file = ''
        if self.SPLIT_FILE is not None:
            ann_file = self.SPLIT_FILE.format(split=split) if split in ('train', 'val') else split
        super().__init__(
            ann_file=ann_file,
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=dict(img_path=''),
            indices=indices,
            serialize_data=serialize_data,
            pipeline=list(pipeline),
            test_mode=test_mode,
            lazy_init=lazy_init,
            max_refetch=max_refetch,
        )

    @classmethod
    def _check_tasks(cls, tasks: Sequence[str]) -> Tuple[str, ...]:
        tasks = tuple(tasks)
        provided = cls.METAINFO['tasks']
        if not tasks or any(t not in provided for t in tasks):
            raise ValueError(
                f'tasks={tasks!r}: {cls.__name__} provides a non-empty subset of {provided!r}'
            )
        for task in tasks:
            get_task_spec(task)  # unknown to mmkem: KeyError naming the known tasks
        return tasks

    def read_split_ids(self) -> List[str]:
        """The sorted, unique ids of the split file (``self.ann_file``)."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'{type(self).__name__}: split file {self.ann_file} (split={self.split!r}) does '
                f'not exist. Expected layout:\n{self.LAYOUT}'
            )
        with open(self.ann_file) as f:
            ids = sorted({line.strip() for line in f if line.strip()})
        if not ids:
            raise ValueError(f'{type(self).__name__}: split file {self.ann_file} lists no ids')
        return ids
