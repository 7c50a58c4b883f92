"""Find the task spec of a ground-truth field in ``results['seg_fields']``."""

from typing import Optional

from mmkem.structures import TASK_SPECS, TaskSpec

__all__ = ['spec_of_field']


def spec_of_field(key: str) -> Optional[TaskSpec]:
    """The :class:`~mmkem.structures.TaskSpec` whose ``gt_field`` is ``key``, or None.

    A field no task declares (mmseg's ``gt_seg_map`` from its own ``LoadAnnotations``) is treated
    by the geometric transforms as a plain label map: nearest interpolation, no value changes.
    """
    for spec in TASK_SPECS.values():
        if spec.gt_field == key:
            return spec
    return None
