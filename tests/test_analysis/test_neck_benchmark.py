"""mmkem.analysis.neck_benchmark: sizes, FLOP counts, one tiny measurement, fits and ratios."""

import math

import pytest

from mmkem.analysis.neck_benchmark import (
    HEADER,
    NeckBenchmarkSettings,
    fit_exponents,
    flops,
    format_ratios,
    format_row,
    ratios_at_each_size,
    run_benchmark,
    spatial,
)


def test_spatial_is_as_square_as_possible():
    assert spatial(1024, 2) == (16, 32)
    assert spatial(2048, 2) == (32, 32)
    assert spatial(14, 2) == (1, 7)
    with pytest.raises(ValueError, match='not a multiple of --num-tasks 2'):
        spatial(15, 2)


def test_flops():
    s = NeckBenchmarkSettings(batch=2, num_slots=20, topk=3, num_heads=1)
    n, d = 1024, 256
    paper_kem = 4 * 20 * n * d + 3 * n * d * d + 3 * 20 * d * d
    kem = 3 * n * d * 20 + 6 * 20 * d * d
    assert flops('kem', n, d, s) == (2 * 2 * paper_kem, 2 * 2 * kem)
    ca = 2 * n * n * d + 3 * n * d * d
    assert flops('cross_attention', n, d, s) == (4 * ca, 4 * ca)
    assert flops('copy', n, d, s) == (0, 0)
    assert flops('skem_task_axis', n, d, s)[1] == 4 * (kem + 2 * n * 20)


def test_tiny_grid_and_its_summaries():
    lines = []
    settings = NeckBenchmarkSettings(batch=1, num_slots=4, topk=2, repeats=1, memory=False)
    results = run_benchmark(
        [8, 16], [8], ['copy', 'kem', 'cross_attention'], 8, settings, log=lines.append
    )
    assert [(r['module'], r['n_s']) for r in results] == [
        ('copy', 8), ('kem', 8), ('cross_attention', 8), ('copy', 16), ('kem', 16),
    ]  # fmt: skip
    assert all(r['fwd_s'] > 0 and r['fwd_bwd_s'] > 0 for r in results)
    assert all(math.isnan(r['peak_mem_mb']) for r in results)
    assert results[1]['spatial'] == [2, 2] and results[1]['input_mb'] == 2 * 8 * 4 * 4 / 2**20
    assert lines == [format_row(r) for r in results]
    assert len(lines[0]) == len(HEADER)
    fits = fit_exponents(results, ['copy', 'kem', 'cross_attention'], [8])
    assert set(fits) == {'copy@d=8', 'kem@d=8'}  # cross-attention: one size only
    ratios = ratios_at_each_size(results, [8, 16], [8], memory=False)
    assert set(ratios[0]) == {
        'n_s',
        'd',
        'ca_over_kem',
        'kem_fwd_over_copy',
        'kem_fwd_gflops_per_s',
    }
    assert set(ratios[1]) == {'n_s', 'd', 'kem_fwd_over_copy', 'kem_fwd_gflops_per_s'}
    assert format_ratios(dict(n_s=8, d=8, ca_over_kem=0.5, kem_mem_below_ca=True)) == (
        'n_s=8, d=8, ca_over_kem=0.50, kem_mem_below_ca=True'
    )


def test_exponent_of_a_power_law():
    results = [dict(module='m', d=4, n_s=n, fwd_bwd_s=3e-6 * n**2) for n in (100, 200, 400)]
    assert fit_exponents(results, ['m'], [4])['m@d=4'] == pytest.approx(2.0)
