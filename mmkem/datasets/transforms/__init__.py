from .audits import ANNOTATION_AUDITS, register_annotation_audit
from .decoders import ANNOTATION_DECODERS, DECODER_OPTIONS, register_annotation_decoder
from .errors import PROBLEMS, BadAnnotationError, loading_problem
from .formatting import PackMultiTaskInputs
from .geometry import (
    MultiTaskRandomCrop,
    MultiTaskRandomFlip,
    MultiTaskRandomResize,
    MultiTaskResize,
)
from .loading import LoadImageFromNpy, LoadMultiTaskAnnotations

__all__ = [
    'ANNOTATION_AUDITS',
    'ANNOTATION_DECODERS',
    'BadAnnotationError',
    'DECODER_OPTIONS',
    'PROBLEMS',
    'LoadImageFromNpy',
    'LoadMultiTaskAnnotations',
    'MultiTaskRandomCrop',
    'MultiTaskRandomFlip',
    'MultiTaskRandomResize',
    'MultiTaskResize',
    'PackMultiTaskInputs',
    'loading_problem',
    'register_annotation_audit',
    'register_annotation_decoder',
]
