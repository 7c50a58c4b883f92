"""Task knowledge, declared once.

Every dense-prediction task mmkem knows is described here by a :class:`TaskSpec`: the name of
its ground-truth and prediction fields on a ``SegDataSample``, how many output channels its head
has, the value used to pad its label maps, its ignore value, how to resize it, which metric ranks
it and whether lower is better. Transforms, the data preprocessor, heads, the metric and the
visualizer read these specs instead of testing ``if task == 'depth'``.

Adding a task is one :func:`register_task` call.
"""

from dataclasses import dataclass, replace
from typing import Dict, Iterable, List, Optional

__all__ = ['TaskSpec', 'TASK_SPECS', 'register_task', 'get_task_spec', 'get_task_specs']


@dataclass(frozen=True)
class TaskSpec:
    """What the rest of mmkem needs to know about one task.

    Args:
        name (str): Task name used in configs and metric keys (``'semseg'``).
        kind (str): One of ``'segmentation'``, ``'depth'``, ``'normals'``, ``'edge'``,
            ``'saliency'``. Heads, losses and metrics dispatch on the kind, so two segmentation
            tasks (``semseg`` and ``human_parts``) share all code.
        gt_field (str): Key in the transform ``results`` dict and field name on ``SegDataSample``.
        pred_field (str): Field name of the prediction on ``SegDataSample``.
        channels (int): Output channels of the head: number of classes for segmentation, 1 for
            depth, edge and saliency, 3 for normals.
        pad_value (float): Value used to pad the label map (255 for labels, 0 = invalid for depth).
        ignore_index (int, optional): Label value excluded from losses and metrics. Defaults to 255
            for segmentation tasks, None otherwise.
        interpolation (str): How geometric transforms resample the label: ``'nearest'`` or
            ``'bilinear'``.
        metric (str): The metric that represents the task in Δm.
        lower_is_better (bool): Direction of ``metric`` (l_i in the Δm formula).
    """

    name: str
    kind: str
    gt_field: str
    pred_field: str
    channels: int
    pad_value: float = 255
    ignore_index: Optional[int] = None
    interpolation: str = 'nearest'
    metric: str = 'mIoU'
    lower_is_better: bool = False

    @property
    def is_segmentation(self) -> bool:
        return self.kind == 'segmentation'


TASK_SPECS: Dict[str, TaskSpec] = {}


def register_task(spec: TaskSpec, force: bool = False) -> TaskSpec:
    """Add ``spec`` to :data:`TASK_SPECS` (``force=True`` replaces an existing entry)."""
    if spec.name in TASK_SPECS and not force:
        raise KeyError(f'task {spec.name!r} is already registered; pass force=True to replace it')
    TASK_SPECS[spec.name] = spec
    return spec


def get_task_spec(name: str, **overrides) -> TaskSpec:
    """Return the spec of task ``name`` with the fields in ``overrides`` replaced."""
    if name not in TASK_SPECS:
        raise KeyError(f'unknown task {name!r}; known tasks: {sorted(TASK_SPECS)}')
    spec = TASK_SPECS[name]
    return replace(spec, **overrides) if overrides else spec


def get_task_specs(names: Iterable[str]) -> List[TaskSpec]:
    """Specs of ``names``, in order."""
    return [get_task_spec(n) for n in names]


register_task(
    TaskSpec(
        'semseg',
        'segmentation',
        'gt_sem_seg',
        'pred_sem_seg',
        channels=40,
        pad_value=255,
        ignore_index=255,
        metric='mIoU',
    )
)
register_task(
    TaskSpec(
        'human_parts',
        'segmentation',
        'gt_human_parts',
        'pred_human_parts',
        channels=7,
        pad_value=255,
        ignore_index=255,
        metric='mIoU',
    )
)
register_task(
    TaskSpec(
        'depth',
        'depth',
        'gt_depth_map',
        'pred_depth_map',
        channels=1,
        pad_value=0,
        interpolation='nearest',
        metric='rmse',
        lower_is_better=True,
    )
)
register_task(
    TaskSpec(
        'normals',
        'normals',
        'gt_normals',
        'pred_normals',
        channels=3,
        pad_value=0,
        interpolation='nearest',
        metric='mean',
        lower_is_better=True,
    )
)
register_task(
    TaskSpec(
        'sal',
        'saliency',
        'gt_sal',
        'pred_sal',
        channels=1,
        pad_value=255,
        ignore_index=255,
        metric='maxF',
    )
)
register_task(
    TaskSpec(
        'edge',
        'edge',
        'gt_edge',
        'pred_edge',
        channels=1,
        pad_value=255,
        ignore_index=255,
        metric='odsF_approx',
    )
)
