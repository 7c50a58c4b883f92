"""Test fixtures, as ``mmdet.testing``: tiny datasets written in the exact release layouts, and
short training runs. ``import mmkem`` does not import this module; tests do."""

from .datasets import (
    box_mask,
    write_ade20k,
    write_libmtl_nyuv2,
    write_pascal_mt,
    write_pascal_part_mat,
    write_tiny_nyud,
)
from .runs import run_command, shrink_train_config, tiny_train_config

__all__ = [
    'box_mask',
    'run_command',
    'shrink_train_config',
    'tiny_train_config',
    'write_ade20k',
    'write_libmtl_nyuv2',
    'write_pascal_mt',
    'write_pascal_part_mat',
    'write_tiny_nyud',
]
