"""Helpers without registry entries: atomic file writes, checkpoint file I/O, and the checkpoint key
converters (``mmkem.utils.converters``, one module per source model)."""

from . import converters
from .atomic_write import atomic_write_bytes
from .checkpoint_io import load_state_dict_file, save_checkpoint_atomic

__all__ = ['atomic_write_bytes', 'converters', 'load_state_dict_file', 'save_checkpoint_atomic']
