"""mmkem.analysis.rep_mtl_overhead on the demo Rep-MTL config at a tiny size."""

import os.path as osp

import pytest

from mmkem.analysis.rep_mtl_overhead import format_overhead, measure_rep_mtl_overhead

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'rep_mtl', 'kem-rep-mtl_effnet-lite0_nyud-demo.py')
PLAIN = osp.join(REPO, 'configs', 'demo', 'kem_effnet-lite0_nyud-demo.py')


def test_both_modes_are_timed_in_alternating_rounds():
    result = measure_rep_mtl_overhead(
        CONFIG, batch_size=1, size=(32, 32), warmup=0, steps=1, rounds=2
    )
    assert result['steps_per_mode'] == 2 and result['size'] == [32, 32]
    assert {mode: len(v) for mode, v in result['all_step_s'].items()} == dict(
        weighting=2, rep_mtl=2
    )
    for mode in ('weighting', 'rep_mtl'):
        assert result['min_step_s'][mode] == min(result['all_step_s'][mode])
    assert result['overhead_percent_median'] == pytest.approx(
        100 * (result['median_step_s']['rep_mtl'] / result['median_step_s']['weighting'] - 1)
    )
    lines = format_overhead(result)
    assert lines[0].startswith(f'{CONFIG} | batch 1 | 32x32 | ')
    assert lines[1].startswith('  weighting  median step') and 'Rep-MTL overhead' in lines[3]


def test_a_model_without_regularizer_is_refused():
    with pytest.raises(ValueError, match='no regularizer to measure'):
        measure_rep_mtl_overhead(PLAIN, batch_size=1, size=(32, 32), steps=1, rounds=1)
