from .math_sdpa_hook import MathSDPAHook, train_iter_attention
from .multi_task_visualization_hook import MultiTaskVisualizationHook
from .prediction_writer_hook import MultiTaskPredictionWriterHook
from .rng_state_hook import RNGStateHook
from .skipped_samples_hook import SkippedSamplesHook, add_skipped_samples_hook

__all__ = [
    'MathSDPAHook',
    'MultiTaskPredictionWriterHook',
    'MultiTaskVisualizationHook',
    'RNGStateHook',
    'SkippedSamplesHook',
    'add_skipped_samples_hook',
    'train_iter_attention',
]
