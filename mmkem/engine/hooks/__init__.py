from .multi_task_visualization_hook import MultiTaskVisualizationHook
from .rng_state_hook import RNGStateHook

__all__ = ['MultiTaskVisualizationHook', 'RNGStateHook']
