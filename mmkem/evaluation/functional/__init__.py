"""Plain metric functions for multi-task dense prediction (numpy only).

Every task kind has two functions: a ``*_stats`` function that reduces one image to a few counts or
sums (what :class:`~mmkem.evaluation.metrics.MultiTaskMetric` keeps per sample, never whole
predictions) and a ``*_scores`` function that turns the stacked statistics of the whole dataset into
metric values. :func:`delta_m` computes the multi-task gain Δm of the paper (and of MTFormer) from
final numbers, so it also works on numbers copied from a paper.

Conventions (see ``docs/metrics.md``): percentages for mIoU, accuracies and F-measures; metres for
depth; degrees for normals.
"""

from .binary import (
    DEFAULT_EDGE_THRESHOLDS,
    DEFAULT_SALIENCY_THRESHOLDS,
    binary_threshold_stats,
    edge_scores,
    f_measure,
    saliency_scores,
)
from .depth import depth_scores, depth_stats
from .gains import delta_m, relative_gain
from .normals import DEFAULT_NORMALS_THRESHOLDS, normals_scores, normals_stats
from .segmentation import segmentation_scores, segmentation_stats

__all__ = [
    'DEFAULT_EDGE_THRESHOLDS',
    'DEFAULT_NORMALS_THRESHOLDS',
    'DEFAULT_SALIENCY_THRESHOLDS',
    'binary_threshold_stats',
    'delta_m',
    'depth_scores',
    'depth_stats',
    'edge_scores',
    'f_measure',
    'normals_scores',
    'normals_stats',
    'relative_gain',
    'saliency_scores',
    'segmentation_scores',
    'segmentation_stats',
]
