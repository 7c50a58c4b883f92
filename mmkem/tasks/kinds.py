"""The built-in task kinds and tasks: one entry each.

Everything mmkem does differently for segmentation, depth, normals, saliency and edges is written
here, once: how the ground truth decodes (by file extension, decoders of
``mmkem.datasets.transforms.ANNOTATION_DECODERS``), its geometry (channels a flip negates, values
that scale with zoom), padding and ignore values, the head's output channels, activation and
default loss, the metrics with their directions and functions, the colours of its pictures, a
synthetic ground truth, how its predictions are merged at test time (flip TTA, sliding windows),
pictured for the inferencer and written to files. The rooms look a task's kind up
(``get_task_spec(task).task_kind``).

A new kind is one :func:`~mmkem.structures.register_kind` call with a :class:`TaskKind`, a new
task one :func:`~mmkem.structures.register_task` call (``tests/test_tasks/test_kinds.py`` adds
both in one place and trains a step).
"""

from typing import Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from mmkem.evaluation import functional as M
from mmkem.structures import KindMetrics, TaskKind, TaskSpec, register_kind, register_task
from mmkem.utils import prediction_io as P
from mmkem.visualization import colorize as C
from mmkem.visualization import task_pictures as V

__all__ = ['BUILTIN_KINDS', 'BUILTIN_TASKS']


# ------------------------------------------------------------------------------------------------
# small pieces shared by several kinds
# ------------------------------------------------------------------------------------------------
def _label_target(gt: Tensor) -> Tensor:
    return gt.squeeze(1).long()


def _float_target(gt: Tensor) -> Tensor:
    return gt.float()


def _check_unit_thresholds(name: str, thresholds: Sequence[float]) -> None:
    if len(thresholds) == 0 or min(thresholds) < 0 or max(thresholds) > 1:
        raise ValueError(f'{name} must be a non-empty sequence in [0, 1], got {thresholds}')


def _random_binary(gen: torch.Generator, channels: int, height: int, width: int) -> Tensor:
    return (torch.rand(1, height, width, generator=gen) > 0.5).float()


def _colorize_probability(data, palette=None, value_range=None, is_gt=False) -> np.ndarray:
    return C.colorize_probability(data, 255 if is_gt else None)


def _binary_kind(name: str, loss: dict, metrics: KindMetrics) -> TaskKind:
    return TaskKind(
        name=name,
        labels=False,
        channels=1,
        pad_value=255,
        ignore_index=255,
        interpolation='nearest',
        decoders={'.png': 'binary_png', '.npy': 'binary_npy'},
        loss=loss,
        to_target=_float_target,
        activate=torch.sigmoid,
        metrics=metrics,
        colorize=_colorize_probability,
        synthetic=_random_binary,
        picture=V.probability_picture,
        save_prediction=P.save_probability,
        load_prediction=P.load_probability,
    )


# ------------------------------------------------------------------------------------------------
# segmentation (semseg, human_parts)
# ------------------------------------------------------------------------------------------------
def _segmentation_stats(pred, gt, spec: TaskSpec, num_classes: Optional[int], options) -> dict:
    return M.segmentation_stats(pred, gt, num_classes, spec.ignore_index)


def _segmentation_scores(stacked, spec: TaskSpec, num_classes, options) -> dict:
    return M.segmentation_scores(**stacked)


def _colorize_labels(data, palette=None, value_range=None, is_gt=False) -> np.ndarray:
    return C.colorize_labels(data, C.default_palette() if palette is None else palette, 255)


def _random_labels(gen: torch.Generator, channels: int, height: int, width: int) -> Tensor:
    return torch.randint(0, channels, (1, height, width), generator=gen)


SEGMENTATION = TaskKind(
    name='segmentation',
    labels=True,
    pad_value=255,
    ignore_index=255,
    interpolation='nearest',
    decoders={'.png': 'label_png', '.npy': 'label_npy'},
    loss=dict(type='CrossEntropyLoss', avg_non_ignore=True, loss_name='loss_ce'),
    to_target=_label_target,
    activate=lambda logits: logits.argmax(dim=0, keepdim=True),
    metrics=KindMetrics(
        names=lambda options: ('mIoU', 'mAcc', 'aAcc'),
        lower_is_better=(),
        main='mIoU',
        stats=_segmentation_stats,
        scores=_segmentation_scores,
    ),
    colorize=_colorize_labels,
    synthetic=_random_labels,
    picture=V.label_picture,
    save_prediction=P.save_labels,
    load_prediction=P.load_labels,
)


# ------------------------------------------------------------------------------------------------
# depth
# ------------------------------------------------------------------------------------------------
def _check_depth_options(options: Mapping) -> None:
    if options['rmse'] not in ('pooled', 'per_image'):
        raise ValueError(f"depth_rmse must be 'pooled' or 'per_image', got {options['rmse']!r}")


def _depth_range(data: np.ndarray) -> Tuple[float, float]:
    """1st and 99th percentiles of the valid depths, so a few outliers do not flatten the map."""
    valid = np.isfinite(data) & (data > 0)
    if not valid.any():
        return 0.0, 1.0
    low, high = np.percentile(data[valid], (1, 99))
    return float(low), float(max(high, low + 1e-6))


def _colorize_depth(data, palette=None, value_range=None, is_gt=False) -> np.ndarray:
    data = np.asarray(data)
    if value_range is None:
        value_range = _depth_range(data)
    invalid = ~(np.isfinite(data) & (data > 0)) if is_gt else None
    return C.colorize_depth(data, *value_range, invalid=invalid)


DEPTH = TaskKind(
    name='depth',
    labels=False,
    channels=1,
    pad_value=0,
    ignore_index=None,
    interpolation='nearest',
    decoders={'.npy': 'depth_npy'},
    scales_with_zoom=True,
    loss=dict(type='DepthL1Loss'),
    to_target=_float_target,
    activate=lambda depth: depth.clamp(min=0),
    metrics=KindMetrics(
        names=lambda options: ('rmse', 'abs_rel', 'log_rmse'),
        lower_is_better=('rmse', 'abs_rel', 'log_rmse'),
        main='rmse',
        stats=lambda pred, gt, spec, num_classes, options: M.depth_stats(pred, gt),
        scores=lambda stacked, spec, num_classes, options: M.depth_scores(
            **stacked, mode=options['rmse']
        ),
        defaults=dict(rmse='pooled'),
        check=_check_depth_options,
    ),
    colorize=_colorize_depth,
    value_range=_depth_range,
    synthetic=lambda gen, channels, height, width: (
        0.5 + 4.5 * torch.rand(1, height, width, generator=gen)
    ),
    picture=V.depth_picture,
    save_prediction=P.save_depth,
    load_prediction=P.load_depth,
)


# ------------------------------------------------------------------------------------------------
# surface normals
# ------------------------------------------------------------------------------------------------
def _normals_names(options: Mapping) -> Tuple[str, ...]:
    return ('mean', 'median', 'rmse') + tuple(f'{t:g}' for t in options['thresholds'])


def _check_normals_options(options: Mapping) -> None:
    if options['bins'] < 1:
        raise ValueError(f'normals_bins must be >= 1, got {options["bins"]}')


NORMALS = TaskKind(
    name='normals',
    labels=False,
    channels=3,
    pad_value=0,
    ignore_index=None,
    interpolation='nearest',
    decoders={'.png': 'normals_png', '.npy': 'normals_npy'},
    flip_negate={'horizontal': (0,), 'vertical': (1,), 'diagonal': (0, 1)},
    loss=dict(type='NormalsLoss', mode='l1'),
    to_target=_float_target,
    activate=lambda normals: F.normalize(normals, dim=0),
    metrics=KindMetrics(
        names=_normals_names,
        lower_is_better=('mean', 'median', 'rmse'),
        main='mean',
        stats=lambda pred, gt, spec, num_classes, options: M.normals_stats(
            pred, gt, int(options['bins']), tuple(options['thresholds'])
        ),
        scores=lambda stacked, spec, num_classes, options: M.normals_scores(
            **stacked, thresholds=tuple(options['thresholds'])
        ),
        defaults=dict(bins=1800, thresholds=M.DEFAULT_NORMALS_THRESHOLDS),
        check=_check_normals_options,
    ),
    colorize=lambda data, palette=None, value_range=None, is_gt=False: C.colorize_normals(data),
    synthetic=lambda gen, channels, height, width: F.normalize(
        torch.randn(3, height, width, generator=gen), dim=0
    ),
    # several predictions of a pixel count once each, whatever their length; the activation
    # renormalises their mean
    merge=lambda raw: F.normalize(raw, dim=-3),
    picture=V.normals_picture,
    save_prediction=P.save_normals,
    load_prediction=P.load_normals,
)


# ------------------------------------------------------------------------------------------------
# saliency and edges: binary maps
# ------------------------------------------------------------------------------------------------
def _binary_stats(pred, gt, spec: TaskSpec, num_classes, options) -> dict:
    return M.binary_threshold_stats(pred, gt, tuple(options['thresholds']), spec.ignore_index)


def _check_binary_options(kind: str):
    def check(options: Mapping) -> None:
        _check_unit_thresholds(f'{kind}_thresholds', options['thresholds'])

    return check


SALIENCY = _binary_kind(
    'saliency',
    loss=dict(type='BalancedBCELoss', pos_weight=None, loss_name='loss_sal_bce'),
    metrics=KindMetrics(
        names=lambda options: ('maxF', 'mIoU'),
        lower_is_better=(),
        main='maxF',
        stats=_binary_stats,
        scores=lambda stacked, spec, num_classes, options: M.saliency_scores(
            **stacked, beta2=float(options['beta2'])
        ),
        defaults=dict(thresholds=M.DEFAULT_SALIENCY_THRESHOLDS, beta2=0.3),
        check=_check_binary_options('saliency'),
    ),
)


def _edge_suffix(options: Mapping) -> str:
    """What sets a cheaper or other protocol apart, in the key: ``_t11``, ``_sub4``, ``_nonms``.

    Keys without a suffix (``odsF``, ``oisF``, ``AP``) are the benchmark's protocol: its 101
    thresholds, every image, NMS and thinning on; a log never shows a cheaper number under them.
    """
    thresholds = M.resolve_thresholds(options['thresholds'])
    suffix = ''
    if thresholds != M.BENCHMARK_EDGE_THRESHOLDS:
        suffix += f'_t{len(thresholds)}'
    if int(options['subset']) > 1:
        suffix += f'_sub{int(options["subset"])}'
    if not options['nms']:
        suffix += '_nonms'
    if not options['thin']:
        suffix += '_nothin'
    return suffix


def _edge_names(options: Mapping) -> Tuple[str, ...]:
    suffix = _edge_suffix(options)
    return tuple(name + suffix for name in ('odsF', 'oisF', 'AP'))


def _check_edge_options(options: Mapping) -> None:
    M.resolve_thresholds(options['thresholds'])  # raises naming edge_thresholds
    max_dist = options['max_dist']
    if (
        isinstance(max_dist, bool)
        or not isinstance(max_dist, (int, float))
        or not (0 < max_dist < 1)
    ):
        raise ValueError(
            f'edge_max_dist must be a fraction of the image diagonal in (0, 1) (0.0075 '
            f'PASCAL-Context, 0.011 NYUD-v2), got {max_dist!r}'
        )
    for flag in ('nms', 'thin', 'quantize'):
        if not isinstance(options[flag], bool):
            raise ValueError(f'edge_{flag} must be True or False, got {options[flag]!r}')
    subset = options['subset']
    if isinstance(subset, bool) or not isinstance(subset, int) or subset < 1:
        raise ValueError(
            f'edge_subset must be an int >= 1 (1: every image; n: the images whose file name '
            f'hashes to 0 mod n), got {subset!r}'
        )


def _edge_stats(pred, gt, spec: TaskSpec, num_classes, options) -> dict:
    return M.boundary_counts(
        pred,
        gt,
        thresholds=M.resolve_thresholds(options['thresholds']),
        max_dist=float(options['max_dist']),
        nms=options['nms'],
        apply_thin=options['thin'],
        quantize=options['quantize'],
        ignore_index=spec.ignore_index,
    )


def _edge_scores(stacked, spec: TaskSpec, num_classes, options) -> dict:
    scores = M.boundary_scores(
        stacked['cnt_r'], stacked['sum_r'], stacked['cnt_p'], stacked['sum_p']
    )
    suffix = _edge_suffix(options)
    return {name + suffix: scores[name] for name in ('odsF', 'oisF', 'AP')}


EDGE = _binary_kind(
    'edge',
    loss=dict(type='BalancedBCELoss', pos_weight=0.95, loss_name='loss_edge_bce'),
    metrics=KindMetrics(
        names=_edge_names,
        lower_is_better=(),
        main='odsF',
        stats=_edge_stats,
        scores=_edge_scores,
        defaults=dict(
            thresholds=M.BENCHMARK_EDGE_THRESHOLDS,
            max_dist=0.0075,
            nms=True,
            thin=True,
            quantize=True,
            subset=1,
        ),
        check=_check_edge_options,
        skip=lambda options, img_path: not M.in_subset(img_path, int(options['subset'])),
        costly=True,
    ),
)

BUILTIN_KINDS = tuple(register_kind(k) for k in (SEGMENTATION, DEPTH, NORMALS, SALIENCY, EDGE))

# ------------------------------------------------------------------------------------------------
# tasks: name, kind, ground-truth and prediction fields (docs/internals.md)
# ------------------------------------------------------------------------------------------------
BUILTIN_TASKS = tuple(
    register_task(spec)
    for spec in (
        TaskSpec('semseg', 'segmentation', 'gt_sem_seg', 'pred_sem_seg'),
        TaskSpec('human_parts', 'segmentation', 'gt_human_parts', 'pred_human_parts'),
        TaskSpec('depth', 'depth', 'gt_depth_map', 'pred_depth_map'),
        TaskSpec('normals', 'normals', 'gt_normals', 'pred_normals'),
        TaskSpec('sal', 'saliency', 'gt_sal', 'pred_sal'),
        TaskSpec('edge', 'edge', 'gt_edge', 'pred_edge'),
    )
)
