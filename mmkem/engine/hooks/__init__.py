from .math_sdpa_hook import MathSDPAHook
from .multi_task_visualization_hook import MultiTaskVisualizationHook
from .rng_state_hook import RNGStateHook

__all__ = ['MathSDPAHook', 'MultiTaskVisualizationHook', 'RNGStateHook']
