from .launch import add_common_args, build_runner, clear_errors, load_config
from .multi_task_inferencer import MultiTaskInferencer

__all__ = ['MultiTaskInferencer', 'add_common_args', 'build_runner', 'clear_errors', 'load_config']
