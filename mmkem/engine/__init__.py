from . import checkpoint_compat, hooks
from .atomic_backend import AtomicLocalBackend
from .checkpoint_check import (
    CheckpointMismatchError,
    check_checkpoint_matches,
    compare_state_dicts,
)
from .checkpoint_compat import allow_mmengine_checkpoint_globals
from .hooks import (
    MathSDPAHook,
    MultiTaskPredictionWriterHook,
    MultiTaskVisualizationHook,
    RNGStateHook,
    SkippedSamplesHook,
    add_skipped_samples_hook,
)
from .runner import MultiTaskRunner, fill_task_config

__all__ = [
    'AtomicLocalBackend',
    'CheckpointMismatchError',
    'check_checkpoint_matches',
    'compare_state_dicts',
    'allow_mmengine_checkpoint_globals',
    'checkpoint_compat',
    'hooks',
    'MathSDPAHook',
    'MultiTaskPredictionWriterHook',
    'MultiTaskRunner',
    'MultiTaskVisualizationHook',
    'RNGStateHook',
    'SkippedSamplesHook',
    'add_skipped_samples_hook',
    'fill_task_config',
]
