from .decoders import ANNOTATION_DECODERS, register_annotation_decoder
from .formatting import PackMultiTaskInputs
from .geometry import (
    MultiTaskRandomCrop,
    MultiTaskRandomFlip,
    MultiTaskRandomResize,
    MultiTaskResize,
)
from .loading import LoadImageFromNpy, LoadMultiTaskAnnotations

__all__ = [
    'ANNOTATION_DECODERS',
    'LoadImageFromNpy',
    'LoadMultiTaskAnnotations',
    'MultiTaskRandomCrop',
    'MultiTaskRandomFlip',
    'MultiTaskRandomResize',
    'MultiTaskResize',
    'PackMultiTaskInputs',
    'register_annotation_decoder',
]
