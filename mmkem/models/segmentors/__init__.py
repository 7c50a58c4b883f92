from .multi_task_segmentor import MultiTaskSegmentor, NonFiniteLossError

__all__ = ['MultiTaskSegmentor', 'NonFiniteLossError']
