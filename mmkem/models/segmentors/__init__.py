from .multi_task_segmentor import MultiTaskSegmentor
from .non_finite_loss import NonFiniteLossError

__all__ = ['MultiTaskSegmentor', 'NonFiniteLossError']
