"""A config names its tasks once: ``tasks = [...]`` at the top, filled into every component.

mmengine substitutes a base file's variables when it parses that base file, so a child config that
only says ``tasks = ['semseg', 'depth']`` would change the variable and none of the places the base
used it in. mmkem's configs therefore leave ``tasks`` (and the heads' ``num_classes``) out of the
model, the datasets and the evaluators, and :func:`fill_task_config` puts the config's top-level
values into every component whose class takes them, after the whole config is read and merged.
:class:`MultiTaskRunner` (``runner_type = 'MultiTaskRunner'`` in mmkem's runtime config, which
mmseg's own ``tools/train.py`` honours too) and mmkem's tools call it.
"""

import copy
from typing import Any, Iterator, List, Optional, Tuple

from mmengine.config import Config
from mmengine.runner import Runner
from mmseg.registry import DATASETS, METRICS, MODELS, RUNNERS

from mmkem.structures import check_task_list, get_task_spec, get_task_specs
from mmkem.utils.registry import registered_class, takes_argument

from .hooks.skipped_samples_hook import add_skipped_samples_hook

__all__ = ['MultiTaskRunner', 'fill_task_config']


def _datasets(dataset: Any, where: str) -> Iterator[Tuple[dict, str]]:
    """A dataset config and the datasets a wrapper (repeat, concat) holds, with their keys."""
    if not isinstance(dataset, dict):
        return
    yield dataset, where
    yield from _datasets(dataset.get('dataset'), f'{where}.dataset')
    for i, inner in enumerate(dataset.get('datasets') or ()):
        yield from _datasets(inner, f'{where}.datasets[{i}]')


def _evaluators(evaluator: Any, where: str) -> Iterator[Tuple[dict, str]]:
    if isinstance(evaluator, (list, tuple)):
        for i, metric in enumerate(evaluator):
            yield from _evaluators(metric, f'{where}[{i}]')
    elif isinstance(evaluator, dict):
        if 'metrics' in evaluator:
            yield from _evaluators(evaluator['metrics'], f'{where}.metrics')
        else:
            yield evaluator, where


def _prune(component: Any, where: str, tasks: List[str], registries) -> None:
    """Drop the entries for tasks outside ``tasks`` from the task-keyed arguments of
    ``component`` and of every component config nested in it.

    A class lists its task-keyed arguments in ``task_keyed_args`` (``MultiTaskMetric``:
    ``references``, ``main_metrics``, ...; ``FixedLossWeighting``: ``weights``). Such a dict holds
    facts of a dataset's tasks (single-task references, loss weights); a config that trains fewer
    tasks keeps the entries of its own. Keys must be registered tasks (``'<task>/<metric>'`` for
    per-metric dicts); a per-task dict that misses one of ``tasks`` is left for the component to
    reject.
    """
    if isinstance(component, (list, tuple)):
        for i, item in enumerate(component):
            _prune(item, f'{where}[{i}]', tasks, registries)
        return
    if not isinstance(component, dict):
        return
    cls = registered_class(registries, component) if 'type' in component else None
    for name in getattr(cls, 'task_keyed_args', ()):
        value = component.get(name)
        if not isinstance(value, dict) or 'type' in value:
            continue
        kept = {}
        for key, entry in value.items():
            task = key.split('/', 1)[0]
            get_task_spec(task)  # unknown task: KeyError naming the known ones
            if task in tasks:
                kept[key] = entry
        if len(kept) != len(value):
            component[name] = kept
    for name, value in component.items():
        if name != 'type':
            _prune(value, f'{where}.{name}', tasks, registries)


def _fill(component: dict, where: str, name: str, value: Any) -> None:
    if name not in component:
        component[name] = copy.deepcopy(value)
        return
    given = component[name]
    same = list(given) == list(value) if name == 'tasks' else dict(given) == dict(value)
    if not same:
        raise ValueError(
            f"{where}.{name}={given!r} differs from the config's {name}={value!r}: write "
            f'{name} once, at the top of the config (`{name} = ...`), and leave it out of '
            f'{where} (docs/configs.md)'
        )


def fill_task_config(cfg: Config) -> Config:
    """Fill the config's top-level ``tasks`` and ``num_classes`` into its components, in place.

    ``tasks`` goes to the model, every dataset of every ``*_dataloader`` (wrappers included) and
    every metric of ``val_evaluator`` / ``test_evaluator`` whose class takes a ``tasks`` argument;
    ``num_classes`` (task -> classes, a dataset fact) to the model when its class takes one. A
    component that already states a different value is an error naming its key. Task-keyed
    arguments (single-task references, loss weights, per-task heads; a class lists them in
    ``task_keyed_args``) keep the entries of the config's tasks only, so that a child config that
    changes ``tasks`` is one line. A config without a top-level ``tasks`` is returned unchanged
    (plain mmseg configs). Filling twice changes nothing.

    Args:
        cfg (Config): The merged config.

    Returns:
        Config: ``cfg``.

    Raises:
        ValueError: ``tasks`` is not a list of distinct task names, or a component disagrees.
        KeyError: ``tasks`` names an unknown task.
    """
    tasks = cfg.get('tasks')
    if tasks is None:
        return cfg
    tasks: List[str] = check_task_list(tasks, "the config's tasks")
    num_classes: Optional[dict] = cfg.get('num_classes')
    model = cfg.get('model')
    if isinstance(model, dict):
        if takes_argument((MODELS,), model, 'tasks'):
            _fill(model, 'model', 'tasks', tasks)
        if num_classes is not None and takes_argument((MODELS,), model, 'num_classes'):
            get_task_specs(num_classes)  # unknown task: KeyError naming the known ones
            ours = {t: n for t, n in num_classes.items() if t in tasks}
            _fill(model, 'model', 'num_classes', ours)
    for key in list(cfg.keys()):
        if key.endswith('_dataloader') and isinstance(cfg[key], dict):
            for dataset, where in _datasets(cfg[key].get('dataset'), f'{key}.dataset'):
                if takes_argument((DATASETS,), dataset, 'tasks'):
                    _fill(dataset, where, 'tasks', tasks)
    for key in ('val_evaluator', 'test_evaluator'):
        for metric, where in _evaluators(cfg.get(key), key):
            if takes_argument((METRICS,), metric, 'tasks'):
                _fill(metric, where, 'tasks', tasks)
            _prune(metric, where, tasks, (METRICS,))
    if isinstance(model, dict):
        _prune(model, 'model', tasks, (MODELS,))
    return cfg


@RUNNERS.register_module()
class MultiTaskRunner(Runner):
    """mmengine's ``Runner``, built from a config whose tasks are written once.

    :meth:`from_cfg` fills the config's ``tasks`` and ``num_classes`` into the model, datasets
    and evaluators (:func:`fill_task_config`), adds
    :class:`~mmkem.engine.hooks.SkippedSamplesHook` when a training dataset skips bad samples, and
    builds the runner as mmengine does. Everything else is mmengine's.
    """

    @classmethod
    def from_cfg(cls, cfg: Config) -> 'Runner':
        """Build a runner from ``cfg`` (not modified) after filling in the task list."""
        cfg = fill_task_config(copy.deepcopy(cfg))
        add_skipped_samples_hook(cfg)
        return super().from_cfg(cfg)
