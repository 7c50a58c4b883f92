from .launch import add_common_args, build_runner, clear_errors, load_config

__all__ = ['add_common_args', 'build_runner', 'clear_errors', 'load_config']
