from .math_sdpa_hook import MathSDPAHook
from .multi_task_visualization_hook import MultiTaskVisualizationHook
from .prediction_writer_hook import MultiTaskPredictionWriterHook
from .rng_state_hook import RNGStateHook

__all__ = [
    'MathSDPAHook',
    'MultiTaskPredictionWriterHook',
    'MultiTaskVisualizationHook',
    'RNGStateHook',
]
