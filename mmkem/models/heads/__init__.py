from .dense_task_head import DenseTaskHead

__all__ = ['DenseTaskHead']
