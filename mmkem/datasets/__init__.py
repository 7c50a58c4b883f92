from . import transforms
from .demo_nyud import make_demo_nyud
from .nyud import NYUD40_CLASSES, NYUDv2Dataset
from .pascal_context import (
    HUMAN_PARTS_CLASSES,
    PASCAL_CONTEXT_CLASSES,
    PASCALContextMTDataset,
    decode_pascal_part,
)

__all__ = [
    'HUMAN_PARTS_CLASSES',
    'NYUD40_CLASSES',
    'NYUDv2Dataset',
    'PASCAL_CONTEXT_CLASSES',
    'PASCALContextMTDataset',
    'decode_pascal_part',
    'make_demo_nyud',
    'transforms',
]
