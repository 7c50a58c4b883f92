from . import synthetic, transforms
from .base import BAD_SAMPLE_POLICIES, MultiTaskDataset, collect_missing_files
from .nyud import NYUD40_CLASSES, NYUDv2Dataset
from .nyuv2_libmtl import NYUV2_13_CLASSES, LibMTLNYUv2Dataset
from .pascal_context import (
    HUMAN_PARTS_CLASSES,
    PASCAL_CONTEXT_CLASSES,
    PASCALContextMTDataset,
    decode_pascal_part,
)
from .pascal_context_labels import NORMALS_VALID_CLASSES, PASCAL_CONTEXT_459_CLASSES
from .sort_of_clevr import SortOfCLEVRDataset
from .synthetic import generate_sort_of_clevr, make_demo_nyud

__all__ = [
    'BAD_SAMPLE_POLICIES',
    'HUMAN_PARTS_CLASSES',
    'LibMTLNYUv2Dataset',
    'MultiTaskDataset',
    'NYUD40_CLASSES',
    'NYUDv2Dataset',
    'NORMALS_VALID_CLASSES',
    'NYUV2_13_CLASSES',
    'PASCAL_CONTEXT_459_CLASSES',
    'PASCAL_CONTEXT_CLASSES',
    'PASCALContextMTDataset',
    'SortOfCLEVRDataset',
    'collect_missing_files',
    'decode_pascal_part',
    'generate_sort_of_clevr',
    'make_demo_nyud',
    'synthetic',
    'transforms',
]
