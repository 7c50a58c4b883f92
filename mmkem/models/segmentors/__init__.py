from .inference import MultiTaskInferenceMixin, check_test_cfg, slide_windows
from .multi_task_segmentor import MultiTaskSegmentor
from .non_finite_loss import NonFiniteLossError

__all__ = [
    'MultiTaskInferenceMixin',
    'MultiTaskSegmentor',
    'NonFiniteLossError',
    'check_test_cfg',
    'slide_windows',
]
