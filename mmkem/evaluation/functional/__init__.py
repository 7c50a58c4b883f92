"""Plain metric functions for multi-task dense prediction (numpy; scipy and scikit-image for edges).

Every task kind has two functions: a ``*_stats`` function that reduces one image to a few counts or
sums (what :class:`~mmkem.evaluation.metrics.MultiTaskMetric` keeps per sample, never whole
predictions) and a ``*_scores`` function that turns the stacked statistics of the whole dataset into
metric values. :func:`delta_m` computes the multi-task gain Δm of the paper (and of MTFormer) from
final numbers, so it also works on numbers copied from a paper.

Conventions (see ``docs/metrics.md``): percentages for mIoU, accuracies and F-measures; metres for
depth; degrees for normals.
"""

from .binary import (
    DEFAULT_SALIENCY_THRESHOLDS,
    binary_threshold_stats,
    f_measure,
    saliency_scores,
)
from .boundary import (
    BENCHMARK_EDGE_THRESHOLDS,
    boundary_counts,
    boundary_pr_curve,
    boundary_scores,
    edges_nms,
    in_subset,
    iter_counts,
    match_count,
    resolve_thresholds,
    seg2bmap,
    thin,
)
from .depth import depth_scores, depth_stats
from .gains import delta_m, relative_gain
from .normals import DEFAULT_NORMALS_THRESHOLDS, normals_scores, normals_stats
from .segmentation import segmentation_scores, segmentation_stats

__all__ = [
    'BENCHMARK_EDGE_THRESHOLDS',
    'DEFAULT_NORMALS_THRESHOLDS',
    'DEFAULT_SALIENCY_THRESHOLDS',
    'binary_threshold_stats',
    'boundary_counts',
    'boundary_pr_curve',
    'boundary_scores',
    'delta_m',
    'depth_scores',
    'depth_stats',
    'edges_nms',
    'f_measure',
    'in_subset',
    'iter_counts',
    'match_count',
    'normals_scores',
    'normals_stats',
    'relative_gain',
    'resolve_thresholds',
    'saliency_scores',
    'segmentation_scores',
    'segmentation_stats',
    'seg2bmap',
    'thin',
]
