"""Multi-task gains: the relative gain of one metric and Δm of the paper (and of MTFormer)."""

from typing import Mapping

import numpy as np

__all__ = ['delta_m', 'relative_gain']


def relative_gain(value: float, reference: float, lower_is_better: bool) -> float:
    """(-1)^l (value - reference) / reference * 100: positive when ``value`` beats ``reference``.

    Args:
        value (float): Multi-task model's metric M_m.
        reference (float): Single-task reference M_s (non-zero).
        lower_is_better (bool): l = 1 (e.g. RMSE) or l = 0 (e.g. mIoU).

    Returns:
        float: Gain in percent.
    """
    if reference == 0:
        raise ValueError('reference must be non-zero to compute a relative gain')
    sign = -1.0 if lower_is_better else 1.0
    return sign * (float(value) - float(reference)) / float(reference) * 100


def delta_m(
    results: Mapping[str, float],
    references: Mapping[str, float],
    lower_is_better: Mapping[str, bool],
) -> float:
    """Δm = (1/n) Σ_i (-1)^{l_i} (M_m,i - M_s,i) / M_s,i × 100 (percent).

    The sum runs over the tasks of ``references`` (paper eq. in Sec. 4, after MTFormer).

    Args:
        results (Mapping[str, float]): Task name -> the multi-task model's value of the task's main
            metric.
        references (Mapping[str, float]): Task name -> single-task reference of the same metric.
        lower_is_better (Mapping[str, bool]): Task name -> l_i.

    Returns:
        float: Δm in percent (positive: the multi-task model is better on average).

    Example:
        >>> delta_m(dict(semseg=49.63, depth=0.474), dict(semseg=47.96, depth=0.4972),
        ...         dict(semseg=False, depth=True))  # doctest: +ELLIPSIS
        4.07...
    """
    if not references:
        raise ValueError('delta_m needs at least one task in references')
    gains = []
    for task, ref in references.items():
        if task not in results:
            raise KeyError(
                f'delta_m: task {task!r} has a reference but no result in {sorted(results)}'
            )
        if task not in lower_is_better:
            raise KeyError(f'delta_m: lower_is_better has no entry for task {task!r}')
        gains.append(relative_gain(results[task], ref, lower_is_better[task]))
    return float(np.mean(gains))
