from .launch import (
    LaunchError,
    add_common_args,
    build_runner,
    check_data_first,
    clear_errors,
    load_config,
)
from .pretrained import explain_missing_weights

__all__ = [
    'LaunchError',
    'add_common_args',
    'build_runner',
    'check_data_first',
    'clear_errors',
    'explain_missing_weights',
    'load_config',
]
