"""One metric for every task of a multi-task model, with Δm against single-task references."""

import multiprocessing
from collections import OrderedDict, deque
from typing import Any, Deque, Dict, List, Mapping, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmseg.registry import METRICS
from prettytable import PrettyTable

from mmkem.structures import (
    TASK_KINDS,
    TaskSpec,
    check_task_list,
    get_field,
    get_task_spec,
    pixel_array,
    task_classes,
)

from .. import functional as F
from .delta_p import delta_p

__all__ = ['MultiTaskMetric']


def _get_field(data_sample, field: str, task: str, role: str):
    value = get_field(data_sample, field)
    found = (
        (field in data_sample) if isinstance(data_sample, Mapping) else hasattr(data_sample, field)
    )
    if not found:
        raise KeyError(
            f'MultiTaskMetric: the data sample has no {role} field {field!r} for task '
            f"{task!r}; the segmentor's predict() must set spec.pred_field and the packer "
            f'spec.gt_field (docs/internals.md)'
        )
    return value


def _task_stats(task: str, pred, gt, num_classes, options) -> dict:
    """The kind's per-sample statistics of ``task``; errors name the task."""
    spec = get_task_spec(task)
    try:
        return spec.task_kind.metrics.stats(pred, gt, spec, num_classes, options)
    except ValueError as err:
        raise ValueError(f'task {task!r}: {err}') from err


class _Pending:
    """Statistics a worker process is computing (``MultiTaskMetric(workers=N)``)."""

    def __init__(self, result, task: str) -> None:
        self.result, self.task = result, task

    def get(self) -> dict:
        return self.result.get()


def _img_path(data_sample) -> Optional[str]:
    meta = data_sample if isinstance(data_sample, Mapping) else data_sample.metainfo
    return meta.get('img_path')


@METRICS.register_module()
class MultiTaskMetric(BaseMetric):
    """Metrics of every task of a multi-task dense-prediction model, and Δm.

    ``process()`` keeps a few counts per sample and task (class areas, sums of squared depth errors,
    an angle histogram, per-threshold TP/FP/FN), never whole predictions; ``compute_metrics()``
    turns them into task-prefixed values. What a task's metrics are is its task kind's
    ``metrics`` entry (``mmkem/tasks/kinds.py``). Keys per kind (``docs/metrics.md`` gives units
    and directions):

    - segmentation (``semseg``, ``human_parts``): ``mIoU``, ``mAcc``, ``aAcc`` (percent).
    - depth: ``rmse`` (metres), ``abs_rel``, ``log_rmse``; pooled over all valid pixels of the
      dataset by default (``depth_rmse='pooled'``), or the mean of per-image values
      (``'per_image'``, as mmseg's ``DepthMetric``).
    - normals: ``mean``, ``median``, ``rmse`` (degrees; median from a 0.1° histogram) and
      ``11.25``, ``22.5``, ``30`` (percent of pixels with an error below that angle).
    - saliency (``sal``): ``maxF`` (β² = 0.3, best dataset-level F over thresholds) and ``mIoU``.
    - edge: ``odsF``, ``oisF``, ``AP`` (percent): the boundary benchmark (SEISM / BSDS: NMS,
      101 thresholds, thinning, bipartite matching within ``edge_max_dist`` of the diagonal); a
      cheaper or other setting names itself in the keys (``odsF_t11_sub4``: 11 thresholds, 1 in 4
      images; ``_nonms``, ``_nothin``).

    The number of classes of a task with labels comes from the dataset, as in mmseg's
    ``IoUMetric``: ``len(dataset_meta['<task>_classes'])``, else ``len(dataset_meta['classes'])``
    (``num_classes`` overrides it).

    With ``references``, ``delta_m`` = (1/n) Σ_i (-1)^{l_i} (M_m,i - M_s,i) / M_s,i × 100 over the
    tasks that have a reference, M_i being the task's main metric (``spec.main_metric`` unless
    ``main_metrics`` says otherwise) and l_i its direction.

    Options of a kind's metric are ``<kind>_<option>`` keyword arguments (validated by the kind):
    ``depth_rmse`` (``'pooled'`` | ``'per_image'``), ``normals_bins`` (histogram bins over
    [0°, 180°] for the median, 1800), ``normals_thresholds`` (angles of the "within t" metrics,
    (11.25, 22.5, 30)), ``saliency_thresholds`` (0.05, 0.10, ..., 0.95), ``saliency_beta2`` (β²,
    0.3); edges: ``edge_thresholds`` (the benchmark's 101: 0.001, 0.01, ..., 0.99, 0.999; or a
    count K: K evenly spaced, as ``edgesEvalImg``), ``edge_max_dist`` (0.0075; 0.011 for
    NYUD-v2), ``edge_nms`` (True), ``edge_thin`` (True), ``edge_quantize`` (True: the map on the
    1/255 grid of the saved PNGs), ``edge_subset`` (1; n: only the images whose file name hashes
    to 0 mod n). The ground truth is the dataset's; the benchmark's (SEISM's ``seg2bmap``) comes
    from ``LoadMultiTaskAnnotations(decoders=dict(edge='seism_boundaries'))`` in the pipeline.
    The edge matching runs in :meth:`process` (or in ``workers`` processes), about 2 s per
    480x640 image for the full protocol on this machine (``docs/metrics.md``).

    Args:
        tasks (Sequence[str]): Task names (see ``mmkem/tasks/kinds.py``); configs leave them out
            and :func:`mmkem.engine.fill_task_config` fills in the config's ``tasks``.
        references (dict, optional): Task -> single-task reference value of its main metric, in the
            units of the keys above, e.g. ``dict(semseg=47.96, depth=0.4972)``. Defaults to None
            (no Δm).
        delta_p_references (dict, optional): Full metric key -> single-task reference, e.g.
            ``{'semseg/mIoU': 53.5, 'semseg/aAcc': 75.4, 'depth/rmse': 0.52}``; adds ``delta_p``,
            Rep-MTL's / LibMTL's Δp (every metric of a task first, then the mean over tasks; see
            :func:`mmkem.evaluation.metrics.delta_p`). Defaults to None (no Δp).
        main_metrics (dict, optional): Task -> metric name overriding the kind's main metric (used
            for Δm and shown first), e.g. ``dict(sal='mIoU')`` for the paper's PASCAL numbers.
            Defaults to None.
        num_classes (dict, optional): Task with labels -> number of classes, instead of the
            dataset meta's. Defaults to None.
        classwise (bool): Also print the IoU of each class of the segmentation tasks, named by
            ``dataset_meta['<task>_classes']`` or ``dataset_meta['classes']``. Defaults to False.
        workers (int): Processes that compute the statistics of the costly kinds
            (``KindMetrics.costly``: the edge benchmark's NMS, thinning and matching) while the
            model predicts the next batches; :meth:`evaluate` waits for them. 0 computes them in
            :meth:`process`. Defaults to 0.
        collect_device (str): Device used to gather results across ranks. Defaults to 'cpu'.
        prefix (str, optional): Prefix added to every key by mmengine. Defaults to None.
        **kwargs: The kinds' options (above); anything else goes to mmengine's ``BaseMetric``.
    """

    default_prefix: Optional[str] = None
    #: Arguments keyed by task (or ``'<task>/<metric>'``): a config keeps its own tasks' entries.
    task_keyed_args = ('references', 'delta_p_references', 'main_metrics', 'num_classes')

    def __init__(
        self,
        tasks: Sequence[str],
        references: Optional[Dict[str, float]] = None,
        delta_p_references: Optional[Dict[str, float]] = None,
        main_metrics: Optional[Dict[str, str]] = None,
        num_classes: Optional[Dict[str, int]] = None,
        classwise: bool = False,
        workers: int = 0,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
        **kwargs,
    ) -> None:
        self.options = self._kind_options(kwargs)
        super().__init__(collect_device=collect_device, prefix=prefix, **kwargs)
        self.tasks = check_task_list(tasks)
        self.specs: Dict[str, TaskSpec] = {t: get_task_spec(t) for t in self.tasks}
        self.num_classes = dict(num_classes or {})
        for task in self.num_classes:
            if task not in self.specs:
                raise ValueError(
                    f'num_classes names tasks not in tasks={self.tasks}: {sorted(num_classes)}'
                )
            if not self.specs[task].has_classes:
                raise ValueError(
                    f'num_classes given for {task!r}, which is not a segmentation task (kind '
                    f'{self.specs[task].kind!r} has no classes)'
                )
        self.classwise = bool(classwise)
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
            raise ValueError(f'workers must be an int >= 0 (0: in process()), got {workers!r}')
        self.workers = workers
        self._pool = None
        self._pending: Deque = deque()

        # the kind's main metric; options may rename it (edges: 'odsF_t11_sub4' for a cheap
        # setting), and the kind lists it first among its names
        self.main_metrics = {
            t: s.main_metric if s.main_metric in self.metric_names(t) else self.metric_names(t)[0]
            for t, s in self.specs.items()
        }
        for task, name in (main_metrics or {}).items():
            if task not in self.specs:
                raise ValueError(f'main_metrics names task {task!r}, not in tasks={self.tasks}')
            self.main_metrics[task] = name
        for task, name in self.main_metrics.items():
            if name not in self.metric_names(task):
                raise ValueError(
                    f'main metric {name!r} of task {task!r} is not one of the metrics '
                    f'it produces: {self.metric_names(task)}'
                )
        self.references = dict(references or {})
        self.delta_p_references = dict(delta_p_references or {})
        for key in self.delta_p_references:
            task, _, name = key.partition('/')
            if task not in self.specs or name not in self.metric_names(task):
                raise ValueError(
                    f'delta_p_references key {key!r} is not a metric this evaluator produces '
                    "('<task>/<metric>' with a task of tasks)"
                )
        for task, ref in self.references.items():
            if task not in self.specs:
                raise ValueError(f'references names task {task!r}, not in tasks={self.tasks}')
            if not np.isfinite(ref) or ref == 0:
                raise ValueError(
                    f'reference of {task!r} must be a finite non-zero number, got {ref}'
                )

    @staticmethod
    def _kind_options(kwargs: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
        """Every kind's options: its defaults, updated with (and popped from) ``kwargs``."""
        options = {}
        for name, kind in TASK_KINDS.items():
            values = dict(kind.metrics.defaults)
            for option in kind.metrics.defaults:
                key = f'{name}_{option}'
                if key in kwargs:
                    values[option] = kwargs.pop(key)
            if kind.metrics.check is not None:
                kind.metrics.check(values)
            options[name] = values
        return options

    def metric_names(self, task: str) -> List[str]:
        """Names of the metrics ``task`` produces (keys without the task prefix)."""
        spec = self.specs[task]
        return list(spec.task_kind.metrics.names(self.options[spec.kind]))

    def lower_is_better(self, task: str, name: str) -> bool:
        """Whether a lower value of metric ``name`` of ``task`` is better."""
        return name in self.specs[task].task_kind.metrics.lower_is_better

    def task_num_classes(self, task: str) -> Optional[int]:
        """Number of classes of ``task`` (None for kinds without labels)."""
        if not self.specs[task].has_classes:
            return None
        if task in self.num_classes:
            return int(self.num_classes[task])
        names = task_classes(task, self.dataset_meta)
        if names is None:
            raise ValueError(
                f'MultiTaskMetric: the number of classes of task {task!r} comes from the '
                f"dataset: dataset_meta['{task}_classes'] or dataset_meta['classes'] (the runner "
                f"sets dataset_meta from the dataset's METAINFO), or give num_classes=dict("
                f'{task}=N); dataset_meta is {self.dataset_meta!r}'
            )
        return len(names)

    # ----------------------------------------------------------------------------------------------
    def process(self, data_batch, data_samples: Sequence) -> None:
        """Keep per-sample statistics of every task.

        Args:
            data_batch: Unused (the ground truth travels on the data samples).
            data_samples (Sequence[dict | SegDataSample]): Each has, for every task, the prediction
                under ``spec.pred_field`` and the ground truth under ``spec.gt_field``
                (``PixelData``, or its ``to_dict()`` form as mmengine's evaluator passes it), both
                (C, H, W) at the same size.
        """
        num_classes = {task: self.task_num_classes(task) for task in self.tasks}
        for data_sample in data_samples:
            per_task = {}
            for task, spec in self.specs.items():
                pred = pixel_array(
                    _get_field(data_sample, spec.pred_field, task, 'prediction'),
                    f'{task} prediction {spec.pred_field!r}',
                )
                gt = pixel_array(
                    _get_field(data_sample, spec.gt_field, task, 'ground-truth'),
                    f'{task} ground truth {spec.gt_field!r}',
                )
                metrics = spec.task_kind.metrics
                if metrics.skip is not None and metrics.skip(
                    self.options[spec.kind], _img_path(data_sample)
                ):
                    per_task[task] = None
                    continue
                args = (task, pred, gt, num_classes[task], self.options[spec.kind])
                if metrics.costly and self.workers > 0:
                    per_task[task] = self._submit(args)
                    continue
                per_task[task] = _task_stats(*args)
            self.results.append(per_task)

    # ----------------------------------------------------------------------------------------------
    # costly statistics (the edge benchmark's matching) in worker processes
    def _submit(self, args: tuple) -> _Pending:
        if self._pool is None:
            # fork: the workers inherit the registered kinds and tasks; they run numpy / scipy
            self._pool = multiprocessing.get_context('fork').Pool(self.workers)
        self._pending.append(self._pool.apply_async(_task_stats, args))
        while len(self._pending) > 4 * self.workers:  # bound the maps waiting in the queue
            self._pending.popleft().wait()
        return _Pending(self._pending[-1], args[0])

    def _resolve_pending(self) -> None:
        try:
            for per_task in self.results:
                for task, value in per_task.items():
                    if isinstance(value, _Pending):
                        per_task[task] = value.get()
        finally:
            self._pending.clear()
            if self._pool is not None:
                self._pool.close()
                self._pool.join()
                self._pool = None

    def evaluate(self, size: int) -> dict:
        """Wait for the worker processes' statistics (``workers``), then mmengine's evaluate."""
        self._resolve_pending()
        return super().evaluate(size)

    def _task_scores(self, spec: TaskSpec, stats: List[Optional[dict]]) -> Dict[str, float]:
        stats = [s for s in stats if s is not None]
        if not stats:
            raise ValueError(
                f'MultiTaskMetric: no sample of the evaluated ones is in the subset of task '
                f'{spec.name!r} ({spec.kind}_subset); evaluate more samples or a smaller subset'
            )
        stacked = {k: np.stack([np.asarray(s[k]) for s in stats]) for k in stats[0]}
        scores = spec.task_kind.metrics.scores(
            stacked, spec, self.task_num_classes(spec.name), self.options[spec.kind]
        )
        per_class = {k: v for k, v in scores.items() if np.ndim(v) > 0}
        if self.classwise:
            for key, values in per_class.items():
                print_log(
                    f'{spec.name} per-class {key}:\n' + self._class_table(spec, key, values),
                    logger='current',
                )
        return {k: v for k, v in scores.items() if k not in per_class}

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Task-prefixed metrics (``semseg/mIoU``, ``depth/rmse``, ...) and ``delta_m``.

        Args:
            results (list[dict]): Per-sample statistics from :meth:`process`, gathered from all
                ranks.

        Returns:
            dict[str, float]: The metrics, in the units of ``docs/metrics.md``.
        """
        if not results:
            raise ValueError('MultiTaskMetric got no samples to evaluate')
        metrics: Dict[str, float] = OrderedDict()
        for task, spec in self.specs.items():
            scores = self._task_scores(spec, [r[task] for r in results])
            main = self.main_metrics[task]
            for name in [main] + [n for n in scores if n != main]:
                metrics[f'{task}/{name}'] = float(scores[name])
        if self.references:
            metrics['delta_m'] = F.delta_m(
                {t: metrics[f'{t}/{self.main_metrics[t]}'] for t in self.references},
                self.references,
                {t: self.lower_is_better(t, self.main_metrics[t]) for t in self.references},
            )
        if self.delta_p_references:
            directions = {
                key: self.lower_is_better(*key.split('/', 1)) for key in self.delta_p_references
            }
            metrics['delta_p'] = delta_p(metrics, self.delta_p_references, directions)
        print_log('\n' + self.format_table(metrics), logger='current')
        return dict(metrics)

    def _class_table(self, spec: TaskSpec, key: str, values: np.ndarray) -> str:
        """Per-class values (percent) with class names from ``dataset_meta`` where they fit."""
        names = task_classes(spec.name, self.dataset_meta)
        if names is None or len(names) != len(values):
            names = [str(i) for i in range(len(values))]
        table = PrettyTable(field_names=['class', key])
        table.align['class'] = 'l'
        for name, value in zip(names, values):
            table.add_row([name, 'n/a' if np.isnan(value) else f'{value:.2f}'])
        return table.get_string()

    def format_table(self, metrics: Mapping[str, float]) -> str:
        """A table of ``metrics`` with each main metric's direction, reference and relative gain."""
        table = PrettyTable()
        table.field_names = ['metric', 'value', 'better', 'single-task ref.', 'gain (%)']
        table.align['metric'] = 'l'
        for key, value in metrics.items():
            if key in ('delta_m', 'delta_p'):
                continue
            task, name = key.split('/', 1)
            lower = self.lower_is_better(task, name)
            ref, gain = '', ''
            if name == self.main_metrics[task] and task in self.references:
                ref = f'{self.references[task]:.4g}'
                gain = f'{F.relative_gain(value, self.references[task], lower):+.2f}'
            table.add_row([key, f'{value:.4f}', 'lower' if lower else 'higher', ref, gain])
        if 'delta_m' in metrics:
            table.add_row(['delta_m (%)', f'{metrics["delta_m"]:+.2f}', 'higher', '', ''])
        if 'delta_p' in metrics:
            table.add_row(['delta_p (%)', f'{metrics["delta_p"]:+.2f}', 'higher', '', ''])
        return table.get_string()
