from . import functional
from .functional import delta_m, relative_gain
from .multi_task_metric import MultiTaskMetric

__all__ = ['functional', 'delta_m', 'relative_gain', 'MultiTaskMetric']
