"""Check every sample of a config's datasets before a long run (tools/analysis/check_dataset.py).

Each sample of each requested split is read through the loading transforms of the config's own
pipeline (the leading transforms whose type starts with ``Load``: ``LoadImageFromFile``,
``LoadMultiTaskAnnotations`` with the config's ``decode_options``, ...), every task's file on its
own, so that one run collects every problem instead of stopping at the first:

- a missing file (collected while the dataset lists its samples,
  :func:`~mmkem.datasets.collect_missing_files`; such a sample's other files are not read), an
  unreadable or truncated file;
- everything the loader refuses (:class:`~mmkem.datasets.transforms.BadAnnotationError`): a map
  whose size differs from the image's, label ids out of range, depth that is not finite, negative
  or implausible for metres (``max_depth``), normals that are not RGB, not unit length or all
  invalid;
- what the audits of the decoders find (:mod:`mmkem.datasets.transforms.audits`): edge or
  saliency maps that are not binary where the format says they are.

Samples are checked in parallel (``workers`` DataLoader processes) with a progress bar. Each
problem is one line naming the file; a summary counts them per kind.
"""

import copy
import re
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import mmengine.fileio as fileio
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar
from mmseg.registry import DATASETS
from torch.utils.data import DataLoader, Dataset

from mmkem.datasets import collect_missing_files
from mmkem.datasets.transforms import (
    ANNOTATION_AUDITS,
    LoadMultiTaskAnnotations,
    loading_problem,
)
from mmkem.datasets.transforms.decoders import image_shape
from mmkem.structures import get_task_spec

__all__ = [
    'CheckReport',
    'Problem',
    'check_config',
    'check_dataset',
    'check_sample',
    'loading_transforms',
]


@dataclass(frozen=True)
class Problem:
    """One problem of one file.

    Args:
        split (str): The split (``'train'``, ``'val'``, ...).
        sample (str): The sample's id (its index when the dataset has no ids).
        problem (str): The kind of problem (``'depth implausible'``, ...).
        path (str): The file ('' when the message names it some other way).
        message (str): One line, naming the file and what was expected.
    """

    split: str
    sample: str
    problem: str
    path: str
    message: str

    def line(self) -> str:
        """``'[<problem>] <message>'``."""
        return f'[{self.problem}] {self.message}'


@dataclass
class CheckReport:
    """What :func:`check_config` found: the problems and how many samples each split has."""

    problems: List[Problem]
    samples: Dict[str, int]

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems

    def summary(self) -> str:
        """Samples checked per split, problems and files with problems, counts per kind."""
        checked = ', '.join(f'{split} {n}' for split, n in self.samples.items())
        total = sum(self.samples.values())
        if self.ok:
            return f'dataset check: {total} samples ({checked}), no problems'
        files = len({p.path or p.message for p in self.problems})
        lines = [
            f'dataset check: {total} samples ({checked}), {len(self.problems)} problem(s) in '
            f'{files} file(s):'
        ]
        for kind, count in sorted(Counter(p.problem for p in self.problems).items()):
            lines.append(f'  {kind}: {count}')
        return '\n'.join(lines)


def loading_transforms(dataset: Any) -> List[Any]:
    """The leading transforms of ``dataset.pipeline`` whose type starts with ``Load``."""
    transforms = getattr(dataset.pipeline, 'transforms', dataset.pipeline)
    loads = []
    for transform in transforms:
        if not type(transform).__name__.startswith('Load'):
            break
        loads.append(transform)
    if not loads:
        raise ValueError(
            f'{type(dataset).__name__}: its pipeline does not start with loading transforms '
            f'(types starting with "Load"): {[type(t).__name__ for t in transforms]}'
        )
    return loads


def _problem(split: str, sample: str, err: BaseException, path: Optional[str]) -> Problem:
    found = loading_problem(err)
    if found is None:  # not a data error: say what it is, it still stops the run
        message = str(err).strip().split('\n')[0]
        found = ('loading error', f'{path}: {type(err).__name__}: {message}')
    kind, message = found
    return Problem(split, sample, kind, getattr(err, 'path', None) or path or '', message)


def _audit(
    load: LoadMultiTaskAnnotations, task: str, path: str, results: dict
) -> Optional[BaseException]:
    name = load.decoder_name(get_task_spec(task), path, results)
    audit = ANNOTATION_AUDITS.get(name)
    if audit is None:
        return None
    return audit(fileio.get(path, backend_args=load.backend_args), path, results)


def check_sample(dataset: Any, transforms: Sequence[Any], index: int, split: str) -> List[Problem]:
    """The problems of sample ``index``: each loading transform, each task's file on its own.

    Args:
        dataset: A built dataset (``get_data_info``).
        transforms (Sequence): Its loading transforms (:func:`loading_transforms`).
        index (int): The sample.
        split (str): The split's name, for the report.

    Returns:
        list[Problem]: Empty for a good sample.
    """
    results = copy.deepcopy(dataset.get_data_info(index))
    sample = str(results.get('sample_id', index))
    problems = []
    for transform in transforms:
        if isinstance(transform, LoadMultiTaskAnnotations):
            known = 'ori_shape' in results or 'img' in results
            shape = image_shape(results) if known else None  # no image: no size check
            for task in transform.tasks or results['tasks']:
                path = results.get(f'{task}_path')
                try:
                    transform.load_task(results, task, shape)
                    found = None if path is None else _audit(transform, task, path, results)
                except Exception as err:
                    found = err
                if found is not None:
                    problems.append(_problem(split, sample, found, path))
            continue
        path = results.get('img_path')
        try:
            out = transform(results)
        except Exception as err:
            problems.append(_problem(split, sample, err, path))
            continue
        if out is None:  # mmcv's LoadImageFromFile(ignore_empty=True)
            message = f'{path}: {type(transform).__name__} could not read it'
            problems.append(Problem(split, sample, 'unreadable file', path or '', message))
        else:
            results = out
    return problems


class _Samples(Dataset):
    """Sample ``i`` -> its problems, for a DataLoader's workers."""

    def __init__(self, dataset: Any, split: str) -> None:
        self.dataset = dataset
        self.transforms = loading_transforms(dataset)
        self.split = split

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> List[Problem]:
        return check_sample(self.dataset, self.transforms, index, self.split)


def _first(batch: list) -> Any:
    return batch[0]


def _leaves(dataset: Any) -> List[Any]:
    """The datasets that hold samples: wrappers (concat, repeat, class-balanced) unwrapped."""
    if hasattr(dataset, 'datasets'):
        return [leaf for inner in dataset.datasets for leaf in _leaves(inner)]
    if hasattr(getattr(dataset, 'dataset', None), 'pipeline'):
        return _leaves(dataset.dataset)
    return [dataset]


_LAYOUT = re.compile(r'\s*Expected (the )?layout.*$')


def check_dataset(
    dataset_cfg: dict, split: str, workers: int = 0, progress: bool = True
) -> CheckReport:
    """Build the dataset of ``dataset_cfg`` and check every sample (see the module docstring).

    Args:
        dataset_cfg (dict): A dataset config (wrappers allowed).
        split (str): The split's name, for the report.
        workers (int): DataLoader worker processes; 0 checks in this process. Defaults to 0.
        progress (bool): Show a progress bar on stderr. Defaults to True.

    Returns:
        CheckReport: The problems, and the number of samples checked.
    """
    with collect_missing_files() as missing:
        built = DATASETS.build(copy.deepcopy(dataset_cfg))
    problems = [
        Problem(split, '', 'missing file', '', _LAYOUT.sub('', m.split('\n')[0])) for m in missing
    ]
    samples = 0
    for dataset in _leaves(built):
        checked = _Samples(dataset, split)
        loader = DataLoader(
            checked, batch_size=1, shuffle=False, num_workers=workers, collate_fn=_first
        )
        bar = ProgressBar(len(checked), file=sys.stderr) if progress and len(checked) else None
        for found in loader:
            problems.extend(found)
            if bar is not None:
                bar.update()
        if bar is not None:
            sys.stderr.write('\n')
        samples += len(checked)
    return CheckReport(problems, {split: samples + len(missing)})


def check_config(
    cfg: Any, splits: Sequence[str] = ('train', 'val'), workers: int = 0, progress: bool = True
) -> CheckReport:
    """Check the datasets of ``<split>_dataloader`` for each of ``splits`` in ``cfg``.

    ``cfg`` should have its tasks filled in (:func:`mmkem.apis.load_config` does it).

    Raises:
        KeyError: ``cfg`` has no ``<split>_dataloader`` with a dataset; names those it has.
    """
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    report = CheckReport([], {})
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not isinstance(loader, dict) or not isinstance(loader.get('dataset'), dict):
            have = sorted(k[: -len('_dataloader')] for k in cfg if k.endswith('_dataloader'))
            raise KeyError(f'the config has no {split}_dataloader.dataset; splits: {have}')
        found = check_dataset(loader['dataset'], split, workers, progress)
        report.problems.extend(found.problems)
        report.samples.update(found.samples)
    return report
