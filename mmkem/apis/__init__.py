from .launch import (
    LaunchError,
    add_common_args,
    build_runner,
    check_data_first,
    clear_errors,
    load_config,
)
from .multi_task_inferencer import MultiTaskInferencer
from .pretrained import explain_missing_weights

__all__ = [
    'LaunchError',
    'MultiTaskInferencer',
    'add_common_args',
    'build_runner',
    'check_data_first',
    'clear_errors',
    'explain_missing_weights',
    'load_config',
]
