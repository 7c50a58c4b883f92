"""mmkem.analysis.tables: mean and sample std over seeds, the cells and the Markdown table."""

import math

import pytest

from mmkem.analysis.tables import format_mean_std, markdown_table, mean_std


def test_mean_and_sample_std():
    mean, std = mean_std([40.0, 44.0, 45.0])
    assert mean == pytest.approx(43.0)
    assert std == pytest.approx(math.sqrt(7.0))  # sum of squares 14 over n - 1 = 2
    assert mean_std([0.5, 0.7, 0.6])[1] == pytest.approx(0.1)
    # one value: NaN (a table shows the mean alone) or what the caller reports instead
    mean, std = mean_std([3.0])
    assert mean == 3.0 and math.isnan(std)
    assert mean_std([3.0], one_value_std=0.0) == (3.0, 0.0)
    with pytest.raises(ValueError, match='at least one value'):
        mean_std([])


def test_cells():
    assert format_mean_std(43.0, math.sqrt(7.0)) == '43.0000 ± 2.6458'
    assert format_mean_std(50.0, math.nan) == '50.0000'
    assert format_mean_std(50.0, None) == '50.0000'
    assert format_mean_std(None, None) == '-'
    assert format_mean_std(61.04, 1.96, digits=1) == '61.0 ± 2.0'
    assert format_mean_std(0.1234, 0.0, digits=3) == '0.123 ± 0.000'  # std 0 is shown


def test_markdown_table():
    lines = markdown_table(['a', 'b'], [['1', '2'], ['x', 'y']])
    assert lines == ['| a | b |', '|---|---|', '| 1 | 2 |', '| x | y |']
    assert markdown_table(['a'], []) == ['| a |', '|---|']
    with pytest.raises(ValueError, match='3 cells, the header 2'):
        markdown_table(['a', 'b'], [['1', '2', '3']])
