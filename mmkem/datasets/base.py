"""What mmkem's multi-task datasets share: constructor, task and data-root checks, split files,
the opt-in policy that skips bad samples in training, and the collection of missing files for the
dataset check."""

import contextlib
import logging
import os.path as osp
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, Union

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmkem.structures import get_task_spec

from .transforms.errors import loading_problem

__all__ = ['BAD_SAMPLE_POLICIES', 'MultiTaskDataset', 'collect_missing_files']

#: What a training dataset does with a sample whose files cannot be read (``bad_samples``).
BAD_SAMPLE_POLICIES = ('raise', 'skip')

#: The list :func:`collect_missing_files` fills, while it is active.
_MISSING_FILES: List[List[str]] = []


@contextlib.contextmanager
def collect_missing_files() -> Iterator[List[str]]:
    """Within it, mmkem's datasets leave out a sample with a missing file instead of raising.

    Each left-out sample's ``FileNotFoundError`` message (it names the id, the file looked for and
    the layout) is added to the list this yields. For ``tools/analysis/check_dataset.py``, which
    reports every missing file in one run; training keeps stopping at the first.
    """
    found: List[str] = []
    _MISSING_FILES.append(found)
    try:
        yield found
    finally:
        _MISSING_FILES.remove(found)


class MultiTaskDataset(BaseDataset):
    """Base of the multi-task datasets: one ``<task>_path`` per task in each item.

    Subclasses set ``METAINFO`` (with the ``tasks`` the release provides), ``DEFAULT_TASKS``,
    ``LAYOUT_NAME`` and ``LAYOUT`` (shown in every error about missing files), optionally
    ``MISSING_ROOT_HINT`` and ``SPLIT_FILE`` (the id list of ``'train'`` / ``'val'`` relative to
    ``data_root``, with ``{split}``; None when splits are folders), and implement
    ``load_data_list``, building each sample's info inside ``with self.unless_missing():``. The
    arguments are those of the subclasses (see their docstrings), and:

    ``bad_samples`` (``'raise'`` or ``'skip'``, default ``'raise'``): what a training dataset
    (``test_mode=False``) does with a sample whose files cannot be read (an error of
    :func:`~mmkem.datasets.transforms.loading_problem`: a bad ground-truth file, a missing or
    unreadable file, an image mmcv cannot decode). ``'raise'`` stops with the error naming the
    file. ``'skip'`` logs a warning naming the sample and the error, and mmengine's
    ``BaseDataset`` draws another sample instead (``max_refetch`` times at most); the skipped
    samples travel with the batch (``data_samples`` meta key ``skipped_samples``) to
    :class:`~mmkem.engine.hooks.SkippedSamplesHook`, which lists them in
    ``<work_dir>/skipped_samples.txt`` and logs their count at the end of training.
    Validation and test datasets (``test_mode=True``) always raise: a metric over fewer samples
    is not the same metric.

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
        bad_samples: str = 'raise',
    ) -> None:
        self.tasks = self._check_tasks(self.DEFAULT_TASKS if tasks is None else tasks)
        if bad_samples not in BAD_SAMPLE_POLICIES:
            raise ValueError(
                f'bad_samples must be one of {BAD_SAMPLE_POLICIES}, got {bad_samples!r}'
            )
        self.bad_samples = bad_samples
        self._skipped: List[dict] = []
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

    @contextlib.contextmanager
    def unless_missing(self) -> Iterator[None]:
        """Wrap the building of one sample's info in :meth:`load_data_list`.

        A ``FileNotFoundError`` inside raises, unless :func:`collect_missing_files` is active:
        then its message is recorded there and the sample is left out (the block ends).
        """
        try:
            yield
        except FileNotFoundError as err:
            if not _MISSING_FILES:
                raise
            _MISSING_FILES[-1].append(str(err))

    def prepare_data(self, idx: int):
        """The sample ``idx`` through the pipeline; with ``bad_samples='skip'`` (training only),
        None for a sample whose files cannot be read, after logging it (see the class doc)."""
        if self.bad_samples == 'raise' or self.test_mode:
            return super().prepare_data(idx)
        try:
            data = super().prepare_data(idx)
        except Exception as err:
            found = loading_problem(err)
            if found is None:
                raise
            info = self.get_data_info(idx)
            record = dict(
                index=int(idx),
                sample_id=str(info.get('sample_id', idx)),
                img_path=str(info.get('img_path', '')),
                problem=found[0],
                error=found[1],
            )
            print_log(
                f'{type(self).__name__}: skipped bad sample {record["sample_id"]} '
                f'({record["img_path"]}): {record["error"]}',
                logger='current',
                level=logging.WARNING,
            )
            self._skipped.append(record)
            return None
        if self._skipped and data is not None:
            sample = data.get('data_samples') if isinstance(data, dict) else None
            if hasattr(sample, 'set_metainfo'):  # else the warning above is all there is
                sample.set_metainfo(dict(skipped_samples=list(self._skipped)))
            self._skipped = []
        return data
