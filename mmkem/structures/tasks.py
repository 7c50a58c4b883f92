"""Task knowledge: what a task kind does, and which tasks exist.

Two registries, filled by :mod:`mmkem.tasks` (the table of the built-in kinds and tasks):

- :class:`TaskKind`: what every task of one kind shares (``segmentation``, ``depth``, ``normals``,
  ``saliency``, ``edge``): how its ground truth decodes, its geometry (channels a flip negates,
  whether values scale with zoom), padding and ignore values, its head's output channels,
  activation and default loss, its metrics with their directions and functions, its colours for
  pictures and a synthetic ground truth for benchmarks.
- :class:`TaskSpec`: one task (``semseg``, ``human_parts``, ``depth``, ...): its name, its kind and
  the names of its fields on a ``SegDataSample``.

Transforms, the data preprocessor, heads, the segmentor, the metric and the visualizer look the
kind up here instead of testing ``if kind == 'depth'``. Adding a kind is one
:func:`register_kind` call and adding a task one :func:`register_task` call.

Facts of a dataset (class names and counts) are not task knowledge: they come from the dataset's
``METAINFO`` (``dataset_meta``) and, for the heads, from the config's ``num_classes``.
"""

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from torch import Tensor

__all__ = [
    'FLIP_DIMS',
    'KindMetrics',
    'TASK_KINDS',
    'TASK_SPECS',
    'TaskKind',
    'TaskSpec',
    'check_task_list',
    'compare_task_lists',
    'get_kind',
    'get_task_spec',
    'get_task_specs',
    'metric_directions',
    'register_kind',
    'register_task',
    'spec_of_field',
    'task_classes',
]

#: Flip direction -> the dims of a (..., H, W) map that the flip reverses.
FLIP_DIMS: Dict[str, Tuple[int, ...]] = {
    'horizontal': (-1,),
    'vertical': (-2,),
    'diagonal': (-2, -1),
}


@dataclass(frozen=True)
class KindMetrics:
    """The metrics of a task kind, as :class:`~mmkem.evaluation.MultiTaskMetric` computes them.

    ``stats`` reduces one sample to a few counts or sums (never the whole map); ``scores`` turns
    the statistics of the dataset, stacked per key, into metric values. Both get the evaluated
    :class:`TaskSpec`, the task's number of classes (None for kinds without classes) and the
    kind's options (``defaults`` updated with the metric's ``<kind>_<option>`` arguments).

    Args:
        names (Callable): ``options -> tuple of metric names`` the kind produces (keys are
            ``'<task>/<name>'``).
        lower_is_better (tuple[str]): The names where a lower value is better.
        main (str): The metric that represents the task in Δm unless a config says otherwise.
        stats (Callable): ``(pred, gt, spec, num_classes, options) -> dict`` of one sample.
        scores (Callable): ``(stacked, spec, num_classes, options) -> dict`` of floats; entries
            that are arrays (per-class IoU) are printed per class, not reported.
        defaults (dict): The kind's options and their default values.
        check (Callable, optional): ``options -> None``, raises ``ValueError`` naming the option
            (``'<kind>_<option>'``) when a value is not allowed. Defaults to None.
        skip (Callable, optional): ``(options, img_path) -> bool``: True leaves the sample out
            of the kind's metrics (a subset the options name, as edges' ``edge_subset``; the
            metric keys must then say so). Defaults to None (every sample counts).
        costly (bool): ``stats`` takes long (the edge benchmark's matching): MultiTaskMetric
            runs it in its worker processes when it has some (``workers``). Defaults to False.
    """

    names: Callable[[Mapping[str, Any]], Tuple[str, ...]]
    lower_is_better: Tuple[str, ...]
    main: str
    stats: Callable[..., Dict[str, Any]]
    scores: Callable[..., Dict[str, Any]]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    check: Optional[Callable[[Mapping[str, Any]], None]] = None
    skip: Optional[Callable[[Mapping[str, Any], Optional[str]], bool]] = None
    costly: bool = False


@dataclass(frozen=True)
class TaskKind:
    """What every task of one kind shares.

    Args:
        name (str): The kind's name (``'segmentation'``).
        labels (bool): The ground truth holds class ids: packed as long, the head has one output
            per class (counted by the dataset: ``num_classes``), pictures use a palette.
        channels (int, optional): Output channels of the head (1 for depth, 3 for normals); None
            when ``labels`` (the number of classes). Defaults to None.
        pad_value (float): Value of padded ground-truth pixels (255 = ignore for labels, 0 =
            invalid for depth and normals).
        ignore_index (int, optional): Ground-truth value left out of losses and metrics.
        interpolation (str): How geometric transforms resample the ground truth (``'nearest'`` or
            ``'bilinear'``).
        decoders (dict[str, str]): File extension -> name of the decoder in
            ``mmkem.datasets.transforms.ANNOTATION_DECODERS`` that reads it.
        flip_negate (dict[str, tuple[int]]): Flip direction -> channels whose sign the flip
            reverses (a horizontal flip negates the x of a normal).
        scales_with_zoom (bool): Values are divided by the zoom factor of a random rescale (an
            image enlarged by s looks like a scene s times closer: depth).
        loss (dict): The head's default loss config (MODELS).
        to_target (Callable): Batched ground truth (B, c, H, W) -> what the loss takes.
        activate (Callable): Raw output of one sample (C, H, W) -> the prediction stored on the
            sample (argmax, unit vectors, sigmoid, ...).
        metrics (KindMetrics): The kind's metrics.
        colorize (Callable): ``(data, palette, value_range, ignore_index) -> (H, W, 3) uint8 RGB``
            picture of a (C, H, W) map (ground truth or prediction).
        value_range (Callable, optional): ``data -> (vmin, vmax)`` shared by the ground truth and
            the prediction pictures of a sample (depth). Defaults to None.
        synthetic (Callable): ``(generator, channels, height, width) -> (c, H, W)`` tensor: a
            plausible ground truth for benchmarks.
        merge (Callable, optional): What is averaged when several predictions of a pixel are
            merged (test-time flips, overlapping sliding windows): raw outputs (B, C, H, W) ->
            the values averaged, which then stand for the raw output (the activation follows).
            Used only when there is more than one prediction to merge. Defaults to None: the raw
            outputs themselves (class logits, as mmseg's slide inference; depth in metres).
        picture (Callable, optional): ``(prediction (C, H, W), image (H, W, 3) RGB or None,
            palette, class_names) -> (h, w, 3) uint8 RGB``: the inferencer's picture of a
            prediction (a colour map with a legend or a colour bar). Defaults to None: the
            kind's ``colorize`` of the prediction.
        save_prediction (Callable, optional): ``(prediction (C, H, W) array, path stem) ->
            list of written files``: a prediction as files ``<stem>.<ext>`` (what
            ``tools/test.py --out`` and the inferencer write). Defaults to None: ``<stem>.npy``.
        load_prediction (Callable, optional): ``path stem -> (C, H, W) array``, reading back what
            ``save_prediction`` wrote. Defaults to None: ``<stem>.npy``.
    """

    name: str
    labels: bool
    pad_value: float
    ignore_index: Optional[int]
    interpolation: str
    decoders: Mapping[str, str]
    loss: Mapping[str, Any]
    to_target: Callable
    activate: Callable
    metrics: KindMetrics
    colorize: Callable
    synthetic: Callable
    channels: Optional[int] = None
    flip_negate: Mapping[str, Tuple[int, ...]] = field(default_factory=dict)
    scales_with_zoom: bool = False
    value_range: Optional[Callable] = None
    merge: Optional[Callable] = None
    picture: Optional[Callable] = None
    save_prediction: Optional[Callable] = None
    load_prediction: Optional[Callable] = None

    def flip(self, output: Tensor, direction: str) -> Tensor:
        """``output`` as seen in the image flipped along ``direction``: mirrored along the
        flipped axes, the channels of ``flip_negate[direction]`` with the sign reversed.

        Flipping twice gives ``output`` back, so this also undoes a flip.

        Args:
            output (Tensor): A map of this kind, (..., C, H, W).
            direction (str): ``'horizontal'``, ``'vertical'`` or ``'diagonal'``.

        Returns:
            Tensor: The flipped map, same shape.
        """
        if direction not in FLIP_DIMS:
            raise ValueError(
                f'flip_direction must be one of {sorted(FLIP_DIMS)}, got {direction!r}'
            )
        output = output.flip(dims=FLIP_DIMS[direction])
        negate = self.flip_negate.get(direction, ())
        if negate:
            sign = output.new_ones(output.shape[-3], 1, 1)
            sign[list(negate)] = -1
            output = output * sign
        return output

    def __post_init__(self) -> None:
        if self.labels == (self.channels is not None):
            raise ValueError(
                f'task kind {self.name!r}: give channels for a kind without labels and leave it '
                f'None for a label kind (its classes come from the dataset); got labels='
                f'{self.labels}, channels={self.channels}'
            )
        if self.interpolation not in ('nearest', 'bilinear'):
            raise ValueError(
                f"task kind {self.name!r}: interpolation must be 'nearest' or 'bilinear', got "
                f'{self.interpolation!r}'
            )
        if self.metrics.main not in self.metrics.names(self.metrics.defaults):
            raise ValueError(
                f'task kind {self.name!r}: main metric {self.metrics.main!r} is not one of its '
                f'metrics {self.metrics.names(self.metrics.defaults)}'
            )


@dataclass(frozen=True)
class TaskSpec:
    """One task: its name, its kind and its fields on a ``SegDataSample``.

    Args:
        name (str): Task name used in configs and metric keys (``'semseg'``).
        kind (str): Name of a registered :class:`TaskKind`. Two tasks of one kind (``semseg`` and
            ``human_parts``) share all code.
        gt_field (str): Key in the transform ``results`` dict and field name on ``SegDataSample``.
        pred_field (str): Field name of the prediction on ``SegDataSample``.
        metric (str, optional): The task's main metric (Δm). Defaults to None (the kind's).
    """

    name: str
    kind: str
    gt_field: str
    pred_field: str
    metric: Optional[str] = None

    @property
    def task_kind(self) -> TaskKind:
        """The :class:`TaskKind` of this task."""
        return get_kind(self.kind)

    @property
    def main_metric(self) -> str:
        """The metric that represents the task in Δm."""
        return self.metric if self.metric is not None else self.task_kind.metrics.main

    @property
    def lower_is_better(self) -> bool:
        """Direction of :attr:`main_metric` (l_i in the Δm formula)."""
        return self.main_metric in self.task_kind.metrics.lower_is_better

    @property
    def has_classes(self) -> bool:
        """The ground truth holds class ids (the number of classes is a dataset fact)."""
        return self.task_kind.labels

    @property
    def pad_value(self) -> float:
        return self.task_kind.pad_value

    @property
    def ignore_index(self) -> Optional[int]:
        return self.task_kind.ignore_index

    @property
    def interpolation(self) -> str:
        return self.task_kind.interpolation


TASK_KINDS: Dict[str, TaskKind] = {}
TASK_SPECS: Dict[str, TaskSpec] = {}


def register_kind(kind: TaskKind, force: bool = False) -> TaskKind:
    """Add ``kind`` to :data:`TASK_KINDS` (``force=True`` replaces an existing entry)."""
    if kind.name in TASK_KINDS and not force:
        raise KeyError(f'task kind {kind.name!r} is already registered; pass force=True to replace')
    TASK_KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> TaskKind:
    """The registered :class:`TaskKind` called ``name``."""
    if name not in TASK_KINDS:
        raise KeyError(f'unknown task kind {name!r}; known kinds: {sorted(TASK_KINDS)}')
    return TASK_KINDS[name]


def register_task(spec: TaskSpec, force: bool = False) -> TaskSpec:
    """Add ``spec`` to :data:`TASK_SPECS` (``force=True`` replaces an existing entry).

    Raises:
        ValueError: The spec's kind is not registered, its main metric is not one of the kind's,
            or another task already uses its ground-truth or prediction field.
        KeyError: A task of that name exists and ``force`` is False.
    """
    if spec.kind not in TASK_KINDS:
        raise ValueError(
            f'task {spec.name!r} has kind {spec.kind!r}, which is not a registered task kind; '
            f'known kinds: {sorted(TASK_KINDS)} (add one with register_kind)'
        )
    if spec.name in TASK_SPECS and not force:
        raise KeyError(f'task {spec.name!r} is already registered; pass force=True to replace it')
    kind = get_kind(spec.kind)
    if spec.main_metric not in kind.metrics.names(kind.metrics.defaults):
        raise ValueError(
            f'task {spec.name!r}: main metric {spec.main_metric!r} is not a metric of kind '
            f'{spec.kind!r}: {kind.metrics.names(kind.metrics.defaults)}'
        )
    for other in TASK_SPECS.values():
        if other.name != spec.name and {other.gt_field, other.pred_field} & {
            spec.gt_field,
            spec.pred_field,
        }:
            raise ValueError(
                f'task {spec.name!r} uses field {spec.gt_field!r} / {spec.pred_field!r}, which '
                f'task {other.name!r} already uses'
            )
    TASK_SPECS[spec.name] = spec
    return spec


def get_task_spec(name: str) -> TaskSpec:
    """The registered :class:`TaskSpec` of task ``name``."""
    if name not in TASK_SPECS:
        raise KeyError(f'unknown task {name!r}; known tasks: {sorted(TASK_SPECS)}')
    return TASK_SPECS[name]


def get_task_specs(names: Iterable[str]) -> List[TaskSpec]:
    """Specs of ``names``, in order."""
    return [get_task_spec(n) for n in names]


def spec_of_field(key: str) -> Optional[TaskSpec]:
    """The :class:`TaskSpec` whose ``gt_field`` is ``key``, or None.

    A field no task declares (mmseg's ``gt_seg_map`` from its own ``LoadAnnotations``) is treated
    by the geometric transforms as a plain label map: nearest interpolation, no value changes.
    """
    for spec in TASK_SPECS.values():
        if spec.gt_field == key:
            return spec
    return None


def check_task_list(tasks: Sequence[str], what: str = 'tasks', known: bool = True) -> List[str]:
    """Validate a list of task names and return it as a list.

    Args:
        tasks (Sequence[str]): The names.
        what (str): How the list is called in error messages. Defaults to 'tasks'.
        known (bool): Also require every name to be a registered task. Defaults to True.

    Raises:
        ValueError: ``tasks`` is a string, empty, or repeats a name.
        KeyError: ``known`` and a name is not a registered task.
    """
    if isinstance(tasks, str) or tasks is None or len(tasks) == 0:
        raise ValueError(f'{what} must be a non-empty sequence of task names, got {tasks!r}')
    tasks = list(tasks)
    if len(set(tasks)) != len(tasks):
        raise ValueError(f'{what} must not repeat a name, got {tasks}')
    if known:
        get_task_specs(tasks)
    return tasks


def compare_task_lists(expected: Sequence[str], got: Sequence[str]) -> Tuple[List[str], List[str]]:
    """``(missing, unexpected)``: the names of ``expected`` not in ``got``, and the other way."""
    return [t for t in expected if t not in got], [t for t in got if t not in expected]


def metric_directions() -> Dict[str, bool]:
    """Metric name -> whether lower is better, over every registered kind (default options)."""
    directions: Dict[str, bool] = {}
    for kind in TASK_KINDS.values():
        for name in kind.metrics.names(kind.metrics.defaults):
            directions[name] = name in kind.metrics.lower_is_better
    return directions


def task_classes(task: str, dataset_meta: Optional[Mapping]) -> Optional[Sequence[str]]:
    """Class names of a label task from a dataset's meta: ``<task>_classes``, else ``classes``.

    ``classes`` is mmseg's key (the dataset's main segmentation task); a dataset with a second
    label task names its classes ``<task>_classes`` (PASCAL-Context's ``human_parts_classes``).
    None when the meta has neither.
    """
    meta = dataset_meta or {}
    names = meta.get(f'{task}_classes')
    return names if names is not None else meta.get('classes')
