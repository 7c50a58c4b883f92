from ..functional import delta_m, relative_gain
from .delta_p import delta_p, delta_p_per_task
from .multi_task_metric import MultiTaskMetric
from .sort_of_clevr_metric import SortOfCLEVRMetric

__all__ = [
    'MultiTaskMetric',
    'SortOfCLEVRMetric',
    'delta_m',
    'delta_p',
    'delta_p_per_task',
    'relative_gain',
]
