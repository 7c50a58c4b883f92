"""One metric for every task of a multi-task model, with Δm against single-task references."""

from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmseg.registry import METRICS
from prettytable import PrettyTable

from ...structures.tasks import TaskSpec, get_task_spec
from . import functional as F
from .delta_p import delta_p

__all__ = ['MultiTaskMetric', 'METRIC_NAMES', 'LOWER_IS_BETTER_NAMES']

#: Metric names each task kind produces (the keys are ``f'{task}/{name}'``).
METRIC_NAMES: Dict[str, tuple] = {
    'segmentation': ('mIoU', 'mAcc', 'aAcc'),
    'depth': ('rmse', 'abs_rel', 'log_rmse'),
    'normals': ('mean', 'median', 'rmse'),  # plus one key per angle threshold
    'saliency': ('maxF', 'mIoU'),
    'edge': ('odsF_approx',),
}
#: Metric names where a lower value is better (every other metric: higher is better).
LOWER_IS_BETTER_NAMES = frozenset({'rmse', 'abs_rel', 'log_rmse', 'mean', 'median'})


def _to_numpy(value, where: str) -> np.ndarray:
    """The array of a PixelData, of its ``to_dict()`` form, of a tensor or of an array."""
    if isinstance(value, Mapping):
        if 'data' not in value:
            raise KeyError(
                f'{where}: expected a PixelData (or a dict with a "data" key), got keys '
                f'{sorted(value)}'
            )
        value = value['data']
    elif hasattr(value, 'data') and not isinstance(value, (torch.Tensor, np.ndarray)):
        value = value.data
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _get_field(data_sample, field: str, task: str, role: str):
    if isinstance(data_sample, Mapping):
        found = field in data_sample
        value = data_sample.get(field)
    else:
        found = hasattr(data_sample, field)
        value = getattr(data_sample, field, None)
    if not found:
        raise KeyError(
            f'MultiTaskMetric: the data sample has no {role} field {field!r} for task '
            f"{task!r}; the segmentor's predict() must set spec.pred_field and the packer "
            f'spec.gt_field (docs/internals.md)'
        )
    return value


@METRICS.register_module()
class MultiTaskMetric(BaseMetric):
    """Metrics of every task of a multi-task dense-prediction model, and Δm.

    ``process()`` keeps a few counts per sample and task (class areas, sums of squared depth errors,
    an angle histogram, per-threshold TP/FP/FN), never whole predictions; ``compute_metrics()``
    turns them into task-prefixed values. Keys per task kind (``docs/metrics.md`` gives units and
    directions):

    - segmentation (``semseg``, ``human_parts``): ``mIoU``, ``mAcc``, ``aAcc`` (percent).
    - depth: ``rmse`` (metres), ``abs_rel``, ``log_rmse``; pooled over all valid pixels of the
      dataset by default (``depth_rmse='pooled'``), or the mean of per-image values
      (``'per_image'``, as mmseg's ``DepthMetric``).
    - normals: ``mean``, ``median``, ``rmse`` (degrees; median from a 0.1° histogram) and
      ``11.25``, ``22.5``, ``30`` (percent of pixels with an error below that angle).
    - saliency (``sal``): ``maxF`` (β² = 0.3, best dataset-level F over thresholds) and ``mIoU``.
    - edge: ``odsF_approx`` (pixel-exact, no matching tolerance: not the benchmark's odsF).

    With ``references``, ``delta_m`` = (1/n) Σ_i (-1)^{l_i} (M_m,i - M_s,i) / M_s,i × 100 over the
    tasks that have a reference, M_i being the task's main metric (``spec.metric`` unless
    ``main_metrics`` says otherwise) and l_i its ``spec.lower_is_better``.

    Args:
        tasks (Sequence[str]): Task names (see ``mmkem/structures/tasks.py``).
        references (dict, optional): Task -> single-task reference value of its main metric, in the
            units of the keys above, e.g. ``dict(semseg=47.96, depth=0.4972)``. Defaults to None
            (no Δm).
        delta_p_references (dict, optional): Full metric key -> single-task reference, e.g.
            ``{'semseg/mIoU': 53.5, 'semseg/aAcc': 75.4, 'depth/rmse': 0.52}``; adds ``delta_p``,
            Rep-MTL's / LibMTL's Δp (every metric of a task first, then the mean over tasks; see
            :func:`mmkem.evaluation.metrics.delta_p`). Defaults to None (no Δp).
        main_metrics (dict, optional): Task -> metric name overriding ``spec.metric`` as the task's
            main metric (used for Δm and shown first), e.g. ``dict(sal='mIoU')`` for the paper's
            PASCAL numbers. Defaults to None.
        depth_rmse (str): ``'pooled'`` or ``'per_image'``, see above. Defaults to ``'pooled'``.
        num_classes (dict, optional): Segmentation task -> number of classes. Defaults to None
            (``spec.channels``).
        saliency_thresholds (Sequence[float]): Thresholds on the saliency probability.
            Defaults to 0.05, 0.10, ..., 0.95.
        saliency_beta2 (float): β² of the saliency F-measure. Defaults to 0.3.
        edge_thresholds (Sequence[float]): Thresholds on the edge probability. Defaults to
            0.01, ..., 0.99.
        edge_beta2 (float): β² of the edge F-measure. Defaults to 1.0.
        normals_bins (int): Histogram bins over [0°, 180°] for the median angle. Defaults to 1800.
        normals_thresholds (Sequence[float]): Angles (degrees) of the "within t" metrics.
            Defaults to (11.25, 22.5, 30).
        classwise (bool): Also print the IoU of each class of the segmentation tasks, named by
            ``dataset_meta['<task>_classes']`` or ``dataset_meta['classes']``. Defaults to False.
        collect_device (str): Device used to gather results across ranks. Defaults to 'cpu'.
        prefix (str, optional): Prefix added to every key by mmengine. Defaults to None.
    """

    default_prefix: Optional[str] = None

    def __init__(
        self,
        tasks: Sequence[str],
        references: Optional[Dict[str, float]] = None,
        delta_p_references: Optional[Dict[str, float]] = None,
        main_metrics: Optional[Dict[str, str]] = None,
        depth_rmse: str = 'pooled',
        num_classes: Optional[Dict[str, int]] = None,
        saliency_thresholds: Sequence[float] = F.DEFAULT_SALIENCY_THRESHOLDS,
        saliency_beta2: float = 0.3,
        edge_thresholds: Sequence[float] = F.DEFAULT_EDGE_THRESHOLDS,
        edge_beta2: float = 1.0,
        normals_bins: int = 1800,
        normals_thresholds: Sequence[float] = F.DEFAULT_NORMALS_THRESHOLDS,
        classwise: bool = False,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
        **kwargs,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, **kwargs)
        if isinstance(tasks, str) or not tasks:
            raise ValueError(f'tasks must be a non-empty sequence of task names, got {tasks!r}')
        if len(set(tasks)) != len(tasks):
            raise ValueError(f'tasks has duplicates: {list(tasks)}')
        if depth_rmse not in ('pooled', 'per_image'):
            raise ValueError(f"depth_rmse must be 'pooled' or 'per_image', got {depth_rmse!r}")
        if normals_bins < 1:
            raise ValueError(f'normals_bins must be >= 1, got {normals_bins}')
        for name, th in (
            ('saliency_thresholds', saliency_thresholds),
            ('edge_thresholds', edge_thresholds),
        ):
            if len(th) == 0 or min(th) < 0 or max(th) > 1:
                raise ValueError(f'{name} must be a non-empty sequence in [0, 1], got {th}')
        num_classes = dict(num_classes or {})
        self.tasks = list(tasks)
        self.specs: Dict[str, TaskSpec] = {}
        for task in self.tasks:
            spec = get_task_spec(task)
            if task in num_classes:
                if not spec.is_segmentation:
                    raise ValueError(
                        f'num_classes given for {task!r}, which is not a segmentation '
                        f'task (kind {spec.kind!r})'
                    )
                spec = get_task_spec(task, channels=int(num_classes.pop(task)))
            self.specs[task] = spec
        if num_classes:
            raise ValueError(
                f'num_classes names tasks not in tasks={self.tasks}: {sorted(num_classes)}'
            )
        self.depth_rmse = depth_rmse
        self.saliency_thresholds = tuple(float(t) for t in saliency_thresholds)
        self.saliency_beta2 = float(saliency_beta2)
        self.edge_thresholds = tuple(float(t) for t in edge_thresholds)
        self.edge_beta2 = float(edge_beta2)
        self.normals_bins = int(normals_bins)
        self.normals_thresholds = tuple(float(t) for t in normals_thresholds)
        self.classwise = bool(classwise)

        self.main_metrics = {t: s.metric for t, s in self.specs.items()}
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

    def metric_names(self, task: str) -> List[str]:
        """Names of the metrics ``task`` produces (keys without the task prefix)."""
        kind = self.specs[task].kind
        if kind not in METRIC_NAMES:
            raise ValueError(
                f'MultiTaskMetric has no metric for task kind {kind!r} (task {task!r})'
            )
        names = list(METRIC_NAMES[kind])
        if kind == 'normals':
            names += [f'{t:g}' for t in self.normals_thresholds]
        return names

    # ----------------------------------------------------------------------------------------------
    def _sample_stats(self, spec: TaskSpec, pred: np.ndarray, gt: np.ndarray) -> dict:
        if spec.kind == 'segmentation':
            return F.segmentation_stats(pred, gt, spec.channels, spec.ignore_index)
        if spec.kind == 'depth':
            return F.depth_stats(pred, gt)
        if spec.kind == 'normals':
            return F.normals_stats(pred, gt, self.normals_bins, self.normals_thresholds)
        if spec.kind == 'saliency':
            return F.binary_threshold_stats(pred, gt, self.saliency_thresholds, spec.ignore_index)
        if spec.kind == 'edge':
            return F.binary_threshold_stats(pred, gt, self.edge_thresholds, spec.ignore_index)
        raise ValueError(f'MultiTaskMetric has no metric for task kind {spec.kind!r}')

    def _task_scores(self, spec: TaskSpec, stats: List[dict]) -> Dict[str, float]:
        stacked = {k: np.stack([np.asarray(s[k]) for s in stats]) for k in stats[0]}
        if spec.kind == 'segmentation':
            scores = F.segmentation_scores(**stacked)
            iou = scores.pop('IoU')
            if self.classwise:
                print_log(
                    f'{spec.name} per-class IoU:\n' + self._class_table(spec, iou), logger='current'
                )
            return scores
        if spec.kind == 'depth':
            return F.depth_scores(**stacked, mode=self.depth_rmse)
        if spec.kind == 'normals':
            return F.normals_scores(**stacked, thresholds=self.normals_thresholds)
        if spec.kind == 'saliency':
            return F.saliency_scores(**stacked, beta2=self.saliency_beta2)
        return F.edge_scores(stacked['tp'], stacked['fp'], stacked['fn'], beta2=self.edge_beta2)

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Keep per-sample statistics of every task.

        Args:
            data_batch: Unused (the ground truth travels on the data samples).
            data_samples (Sequence[dict | SegDataSample]): Each has, for every task, the prediction
                under ``spec.pred_field`` and the ground truth under ``spec.gt_field``
                (``PixelData``, or its ``to_dict()`` form as mmengine's evaluator passes it), both
                (C, H, W) at the same size.
        """
        for data_sample in data_samples:
            per_task = {}
            for task, spec in self.specs.items():
                pred = _to_numpy(
                    _get_field(data_sample, spec.pred_field, task, 'prediction'),
                    f'{task} prediction {spec.pred_field!r}',
                )
                gt = _to_numpy(
                    _get_field(data_sample, spec.gt_field, task, 'ground-truth'),
                    f'{task} ground truth {spec.gt_field!r}',
                )
                try:
                    per_task[task] = self._sample_stats(spec, pred, gt)
                except ValueError as err:
                    raise ValueError(f'task {task!r}: {err}') from err
            self.results.append(per_task)

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
                {t: self.specs[t].lower_is_better for t in self.references},
            )
        if self.delta_p_references:
            metrics['delta_p'] = delta_p(metrics, self.delta_p_references)
        print_log('\n' + self.format_table(metrics), logger='current')
        return dict(metrics)

    def _class_table(self, spec: TaskSpec, iou: np.ndarray) -> str:
        """Per-class IoU (percent) with class names from ``dataset_meta`` where they fit."""
        meta = self.dataset_meta or {}
        names = meta.get(f'{spec.name}_classes') or meta.get('classes')
        if names is None or len(names) != len(iou):
            names = [str(i) for i in range(len(iou))]
        table = PrettyTable(field_names=['class', 'IoU'])
        table.align['class'] = 'l'
        for name, value in zip(names, iou):
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
            spec = self.specs[task]
            ref, gain = '', ''
            better = 'lower' if name in LOWER_IS_BETTER_NAMES else 'higher'
            if name == self.main_metrics[task]:
                better = 'lower' if spec.lower_is_better else 'higher'
                if task in self.references:
                    ref = f'{self.references[task]:.4g}'
                    gain = F.relative_gain(value, self.references[task], spec.lower_is_better)
                    gain = f'{gain:+.2f}'
            table.add_row([key, f'{value:.4f}', better, ref, gain])
        if 'delta_m' in metrics:
            table.add_row(['delta_m (%)', f'{metrics["delta_m"]:+.2f}', 'higher', '', ''])
        if 'delta_p' in metrics:
            table.add_row(['delta_p (%)', f'{metrics["delta_p"]:+.2f}', 'higher', '', ''])
        return table.get_string()
