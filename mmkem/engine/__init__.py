from . import checkpoint_compat, hooks
from .checkpoint_compat import allow_mmengine_checkpoint_globals
from .hooks import MultiTaskVisualizationHook

__all__ = [
    'allow_mmengine_checkpoint_globals',
    'checkpoint_compat',
    'hooks',
    'MultiTaskVisualizationHook',
]
