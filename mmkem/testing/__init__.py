"""Test fixtures, as ``mmdet.testing``: tiny datasets written in the exact release layouts, short
training runs, and plain references of the KEM equations (``kem_references``). ``import mmkem``
does not import this module; tests do."""

from . import kem_references
from .bad_files import CORRUPTIONS, corrupt_file, plant_problems
from .checkout import write_checkout
from .checkpoints import save_model_checkpoint
from .datasets import (
    box_mask,
    write_ade20k,
    write_libmtl_nyuv2,
    write_pascal_mt,
    write_pascal_part_mat,
    write_tiny_nyud,
)
from .results import coordinate_results
from .runs import run_command, shrink_train_config, tiny_train_config

__all__ = [
    'CORRUPTIONS',
    'box_mask',
    'coordinate_results',
    'corrupt_file',
    'kem_references',
    'plant_problems',
    'run_command',
    'save_model_checkpoint',
    'shrink_train_config',
    'tiny_train_config',
    'write_ade20k',
    'write_checkout',
    'write_libmtl_nyuv2',
    'write_pascal_mt',
    'write_pascal_part_mat',
    'write_tiny_nyud',
]
