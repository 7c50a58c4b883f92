"""Δp, the multi-task gain as LibMTL / DB-MTL / Rep-MTL report it (all metrics, task-averaged)."""

from collections import OrderedDict
from typing import Dict, Mapping, Optional

import numpy as np

from mmkem.structures import metric_directions

from ..functional import relative_gain

__all__ = ['OTHER_LOWER_IS_BETTER', 'delta_p', 'delta_p_per_task']

#: Directions of metrics that other codebases report and no mmkem kind produces (LibMTL's depth
#: absolute error); every other direction comes from the task kinds (``metric_directions``).
OTHER_LOWER_IS_BETTER: Dict[str, bool] = {'abs_err': True}


def delta_p_per_task(
    results: Mapping[str, float],
    references: Mapping[str, float],
    lower_is_better: Optional[Mapping[str, bool]] = None,
) -> Dict[str, float]:
    """Δp_t = (1/N_t) Σ_i (-1)^{l_t,i} (M_m,t,i - M_b,t,i) / M_b,t,i × 100 for each task t.

    Args:
        results (Mapping[str, float]): ``'<task>/<metric>'`` -> the model's value, e.g. the
            output of ``MultiTaskMetric``.
        references (Mapping[str, float]): ``'<task>/<metric>'`` -> the baseline's value (the
            single-task models in Rep-MTL's tables); the metrics counted are exactly these keys.
        lower_is_better (Mapping[str, bool], optional): Direction per full key or per metric name
            (``'rmse'``); a full key wins. Defaults to None: the directions the task kinds declare
            (``metric_directions()``) and :data:`OTHER_LOWER_IS_BETTER`.

    Returns:
        dict[str, float]: Task -> Δp_t in percent, in the order tasks first appear in
        ``references``.
    """
    if not references:
        raise ValueError('delta_p needs at least one metric in references')
    directions = dict(metric_directions(), **OTHER_LOWER_IS_BETTER)
    directions.update(lower_is_better or {})
    gains: Dict[str, list] = OrderedDict()
    for key, ref in references.items():
        task, sep, metric = key.partition('/')
        if not sep or not metric:
            raise ValueError(f"delta_p: reference key {key!r} is not of the form '<task>/<metric>'")
        if key not in results:
            raise KeyError(f'delta_p: {key!r} has a reference but no result in {sorted(results)}')
        lower = directions.get(key, directions.get(metric))
        if lower is None:
            raise KeyError(
                f'delta_p: no direction for {key!r}; pass lower_is_better={{{key!r}: True/False}}'
            )
        gains.setdefault(task, []).append(relative_gain(results[key], ref, lower))
    return {task: float(np.mean(values)) for task, values in gains.items()}


def delta_p(
    results: Mapping[str, float],
    references: Mapping[str, float],
    lower_is_better: Optional[Mapping[str, bool]] = None,
) -> float:
    """Δp = (1/T) Σ_t Δp_t: every metric of a task first, then the mean over tasks (percent).

    This is the figure Rep-MTL, DB-MTL and LibMTL report (e.g. NYUv2 with 2 segmentation, 2 depth
    and 5 normals metrics: each task weighs 1/3, whatever its number of metrics). Δm of the KEM
    paper is the special case of one metric per task.

    Args:
        results, references, lower_is_better: See :func:`delta_p_per_task`.

    Returns:
        float: Δp in percent (positive: better than the references on average).

    Example:
        >>> round(delta_p({'semseg/mIoU': 55.0, 'depth/rmse': 0.5, 'depth/abs_rel': 0.2},
        ...               {'semseg/mIoU': 50.0, 'depth/rmse': 0.4, 'depth/abs_rel': 0.2}), 6)
        -1.25
    """
    return float(np.mean(list(delta_p_per_task(results, references, lower_is_better).values())))
