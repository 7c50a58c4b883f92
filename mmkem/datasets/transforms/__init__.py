from .formatting import PackMultiTaskInputs
from .geometry import (
    MultiTaskRandomCrop,
    MultiTaskRandomFlip,
    MultiTaskRandomResize,
    MultiTaskResize,
)
from .loading import LoadMultiTaskAnnotations

__all__ = [
    'LoadMultiTaskAnnotations',
    'MultiTaskRandomCrop',
    'MultiTaskRandomFlip',
    'MultiTaskRandomResize',
    'MultiTaskResize',
    'PackMultiTaskInputs',
]
