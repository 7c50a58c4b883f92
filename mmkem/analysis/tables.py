"""Result tables: mean and sample standard deviation over seeds, ``mean ± std`` cells, Markdown.

The sweep runner, the Sort-of-CLEVR table and the noise toy all report runs over seeds the same
way; they differ only in what a single seed's spread is (``one_value_std``) and in the digits.
"""

import math
from typing import List, Optional, Sequence, Tuple

__all__ = ['format_mean_std', 'markdown_table', 'mean_std']


def mean_std(values: Sequence[float], one_value_std: float = math.nan) -> Tuple[float, float]:
    """Mean and sample standard deviation (divided by ``n - 1``).

    Args:
        values (Sequence[float]): At least one value.
        one_value_std (float): The standard deviation reported for a single value, where the
            sample standard deviation is undefined. Defaults to NaN (a table then shows the mean
            alone); the noise toy's JSON uses 0.

    Returns:
        tuple[float, float]: ``(mean, std)``.

    Raises:
        ValueError: ``values`` is empty.
    """
    n = len(values)
    if n == 0:
        raise ValueError('mean_std needs at least one value, got none')
    mean = sum(values) / n
    if n == 1:
        return mean, one_value_std
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def format_mean_std(mean: Optional[float], std: Optional[float], digits: int = 4) -> str:
    """A table cell: ``mean ± std``; the mean alone when ``std`` is None or NaN; ``-`` for no mean.

    Args:
        mean (float, optional): The mean, or None where there is nothing to show.
        std (float, optional): The standard deviation, or None / NaN (one seed).
        digits (int): Decimals of both numbers. Defaults to 4.

    Returns:
        str: The cell text, e.g. ``'43.0000 ± 2.6458'``.
    """
    if mean is None:
        return '-'
    if std is None or math.isnan(std):
        return f'{mean:.{digits}f}'
    return f'{mean:.{digits}f} ± {std:.{digits}f}'


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    """The lines of a Markdown table: the header, the ``|---|`` rule and one line per row.

    Args:
        header (Sequence[str]): Column titles.
        rows (Sequence[Sequence[str]]): Cell texts, as many per row as ``header`` has.

    Returns:
        list[str]: The lines, without trailing newlines.

    Raises:
        ValueError: A row with another number of cells than the header.
    """
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f'a table row has {len(row)} cells, the header {len(header)}: {row}')
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    return lines
