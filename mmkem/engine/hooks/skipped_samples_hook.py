"""List the bad samples a training dataset skipped (``bad_samples='skip'``) and count them."""

import os.path as osp
from typing import Any, Dict, Iterator, List, Optional

from mmengine.config import Config
from mmengine.dist import all_gather_object, is_main_process
from mmengine.hooks import Hook
from mmseg.registry import DATASETS, HOOKS

from mmkem.utils.registry import takes_argument

__all__ = ['SKIPPED_SAMPLES_FILE', 'SkippedSamplesHook', 'add_skipped_samples_hook']

#: Name of the list in the work dir.
SKIPPED_SAMPLES_FILE = 'skipped_samples.txt'


@HOOKS.register_module()
class SkippedSamplesHook(Hook):
    """Write every sample the training dataset skipped to ``<work_dir>/skipped_samples.txt``.

    A dataset with ``bad_samples='skip'`` (:class:`~mmkem.datasets.MultiTaskDataset`) logs each
    sample whose files it cannot read, draws another one, and hands the skipped ones on with the
    batch (``data_samples`` meta key ``skipped_samples``). This hook appends each sample the first
    time it is skipped in the run to the list (tab-separated: sample id, image, problem, error; a
    ``# run`` line starts each run's entries) and logs at the end of training how many distinct
    samples were skipped, and how often, over all processes. :class:`MultiTaskRunner` adds it when
    a training dataset has ``bad_samples='skip'``; a plain mmengine ``Runner`` needs it in
    ``custom_hooks``.
    """

    priority = 'LOW'

    def __init__(self, filename: str = SKIPPED_SAMPLES_FILE) -> None:
        self.filename = filename
        self.seen: Dict[str, dict] = {}
        self.times = 0
        self._started = False

    def _records(self, data_batch: Any) -> Iterator[dict]:
        samples = data_batch.get('data_samples') if isinstance(data_batch, dict) else None
        for sample in samples or ():
            yield from getattr(sample, 'metainfo', {}).get('skipped_samples', ())

    def after_train_iter(
        self, runner, batch_idx: int, data_batch: Optional[dict] = None, outputs=None
    ) -> None:
        """Append the samples skipped for this batch that the list does not hold yet."""
        lines = []
        for record in self._records(data_batch):
            self.times += 1
            key = f'{record["sample_id"]}\t{record["img_path"]}'
            if key in self.seen:
                continue
            self.seen[key] = record
            lines.append(f'{key}\t{record["problem"]}\t{record["error"]}\n')
        if lines:
            with open(self.path(runner), 'a') as f:
                if not self._started:
                    f.write(f'# run {runner.timestamp}: sample_id\timage\tproblem\terror\n')
                    self._started = True
                f.writelines(lines)

    def path(self, runner) -> str:
        """The list's path: ``<work_dir>/<filename>``."""
        return osp.join(runner.work_dir, self.filename)

    def after_train(self, runner) -> None:
        """Log how many distinct samples were skipped (all processes) and where they are listed."""
        gathered = all_gather_object((sorted(self.seen), self.times))
        names = sorted({k for keys, _ in gathered for k in keys})
        times = sum(t for _, t in gathered)
        if not is_main_process():
            return
        if names:
            runner.logger.warning(
                f'skipped {len(names)} bad sample(s) during training ({times} time(s)); listed in '
                f'{self.path(runner)}'
            )
        else:
            runner.logger.info('skipped 0 bad samples during training')


def _train_datasets(dataset: Any) -> Iterator[dict]:
    if isinstance(dataset, dict):
        yield dataset
        yield from _train_datasets(dataset.get('dataset'))
        for inner in dataset.get('datasets') or ():
            yield from _train_datasets(inner)


def add_skipped_samples_hook(cfg: Config, skip: bool = False) -> List[dict]:
    """Add :class:`SkippedSamplesHook` to ``cfg.custom_hooks`` when training skips bad samples.

    Args:
        cfg (Config): The config; changed in place.
        skip (bool): Also set ``bad_samples='skip'`` on every training dataset (wrappers
            included) whose class takes it (``tools/train.py --skip-bad-samples``). Defaults to
            False.

    Returns:
        list[dict]: The training dataset configs with ``bad_samples='skip'``.

    Raises:
        ValueError: ``skip`` and no training dataset takes ``bad_samples``.
    """
    loader = cfg.get('train_dataloader')
    datasets = list(_train_datasets(loader.get('dataset') if isinstance(loader, dict) else None))
    if skip:
        ours = [d for d in datasets if takes_argument((DATASETS,), d, 'bad_samples')]
        if not ours:
            raise ValueError(
                'skipping bad samples needs a training dataset of mmkem (MultiTaskDataset: '
                f'bad_samples=...); train_dataloader.dataset is {[d.get("type") for d in datasets]}'
            )
        for dataset in ours:
            dataset['bad_samples'] = 'skip'
    skipping = [d for d in datasets if d.get('bad_samples') == 'skip']
    hooks = list(cfg.get('custom_hooks') or [])
    present = any(
        isinstance(h, SkippedSamplesHook)
        or (isinstance(h, dict) and h.get('type') in ('SkippedSamplesHook', SkippedSamplesHook))
        for h in hooks
    )
    if skipping and not present:
        hooks.append(dict(type='SkippedSamplesHook'))
        cfg.custom_hooks = hooks
    return skipping
