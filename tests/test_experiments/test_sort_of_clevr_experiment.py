"""mmkem.experiments.sort_of_clevr (tools/experiments/sort_of_clevr.py) runs end to end at a tiny
size, in one process and in a pool of two, resumes, and writes its tables with the guards."""

import json
import os.path as osp

import pytest

from mmkem.experiments import sort_of_clevr as exp
from mmkem.experiments.sort_of_clevr import (
    make_colour_table,
    make_table,
    make_type_table,
    run_table1,
    uses_colour,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(REPO, 'configs', 'sort_of_clevr')
TINY = dict(train_images=6, test_images=4, iters=2)


def test_tiny_table_resumes(tmp_path, monkeypatch):
    work_dir = tmp_path / 'work'
    # what `tools/experiments/sort_of_clevr.py --iters 2 --train-images 6 --test-images 4
    # --batch-size 3 --seeds 3 --methods KEM 'none (control)' --jobs 1 ...` runs
    kwargs = dict(
        methods=['KEM', 'none (control)'], jobs=1, batch_size=3,
        command='python tools/experiments/sort_of_clevr.py',
    )  # fmt: skip
    lines = []
    out = run_table1(
        CONFIG_DIR, [3], TINY, str(tmp_path / 'data'), str(work_dir), log=lines.append, **kwargs
    )
    assert len(lines) == 4 and lines[0].startswith('[1/4] none (control)')
    assert 'shuffled colour' in lines[0]
    result = json.loads((work_dir / 'table1.json').read_text())
    assert result['setting']['test_split'] == 'balanced'
    assert result['setting']['iters'] == 2 and result['setting']['train_images'] == 6
    assert result['paper'] == {'KEM': {'balanced': 81.0, 'long-tailed': 71.0}}
    for method in ('KEM', 'none (control)'):
        for dist in ('balanced', 'long-tailed'):
            (run,) = result['results'][method][dist]
            assert run['seed'] == 3 and 0.0 <= run['accuracy'] <= 100.0
            assert 0.0 <= run['shuffled']['accuracy'] <= 100.0
            assert 'colour_yellow' in run and 'colour_red_relational' in run['shuffled']
    table = (work_dir / 'table1.md').read_text()
    assert table.count('| KEM |') == 10  # 2 rows in each of: main, per type, 3 per colour
    assert '| 81 |' in table and 'Shuffled colour' in table and 'yellow' in table
    assert out['table'] in table and out['header'] in table
    # balanced and long-tailed training sets share the scenes; one balanced test set
    names = sorted(p.name for p in (tmp_path / 'data').iterdir())
    assert names == [
        'sort_of_clevr_n4_q10_s1_balanced.npz',
        'sort_of_clevr_n6_q10_s0_balanced.npz',
        'sort_of_clevr_n6_q10_s0_lt-colour-2.npz',
    ]
    assert len(list((work_dir / 'runs').glob('*.json'))) == 4

    # the same call again trains nothing: every run is read back from runs/
    def no_training(job):
        raise AssertionError(f'retrained {job["stem"]}')

    monkeypatch.setattr(exp, 'run_one', no_training)
    lines.clear()
    again = run_table1(
        CONFIG_DIR, [3], TINY, str(tmp_path / 'data'), str(work_dir), log=lines.append, **kwargs
    )
    assert lines == [f'resuming: 4 of 4 runs already in {work_dir / "runs"}']
    assert again['results'] == out['results']
    # report only: a missing seed is a missing cell, nothing is trained
    partial = run_table1(
        CONFIG_DIR, [3, 4], TINY, str(tmp_path / 'data'), str(work_dir), train=False, **kwargs
    )
    assert [r['seed'] for r in partial['results']['KEM']['balanced']] == [3]
    assert '| KEM | balanced |' in partial['table'] and '| 1 | 3 |' in partial['table']
    # another schedule is another run: the stale result is not reused
    with pytest.raises(AssertionError, match='retrained'):
        run_table1(
            CONFIG_DIR, [3], dict(TINY, iters=3), str(tmp_path / 'data'), str(work_dir), **kwargs
        )


def test_two_processes(tmp_path):
    out = run_table1(
        CONFIG_DIR, [0], TINY, str(tmp_path / 'data'), str(tmp_path / 'work'),
        methods=['sKEM (task_axis)'], jobs=2, batch_size=3,
    )  # fmt: skip
    runs = out['results']['sKEM (task_axis)']
    assert [r['seed'] for r in runs['balanced'] + runs['long-tailed']] == [0, 0]
    assert out['setting']['jobs'] == 2


def test_unknown_method(tmp_path):
    with pytest.raises(ValueError, match="unknown method 'KEM2'"):
        run_table1(CONFIG_DIR, [0], TINY, str(tmp_path), str(tmp_path), methods=['KEM2'])


def run(seed, accuracy, shuffled, **extra):
    keys = dict(accuracy=accuracy, non_relational=accuracy + 10, relational=accuracy - 10)
    keys.update(extra)
    return dict(keys, seed=seed, shuffled=dict(keys, accuracy=shuffled))


def test_table_cells_are_mean_and_sample_std_over_seeds():
    results = {
        'KEM': {'balanced': [run(0, 50.0, 30.0), run(1, 54.0, 34.0)], 'long-tailed': []},
    }
    lines = make_table(results, [('KEM', 'kem', (81.0, 71.0))], [0, 1]).splitlines()
    assert lines[0] == (
        '| Model | Train distribution | Accuracy (%) | Non-relational | Relational | '
        'Shuffled colour | Uses colour | Paper | Runs | Seeds |'
    )
    # std of (50, 54) with n - 1: 2.83
    assert lines[2] == (
        '| KEM | balanced | 52.0 ± 2.8 | 62.0 ± 2.8 | 42.0 ± 2.8 | 32.0 ± 2.8 | yes | 81 | 2 '
        '| 0, 1 |'
    )
    assert lines[3] == '| KEM | long-tailed | - | - | - | - | - | 71 | 0 | - |'


def test_colour_blind_rows_are_flagged():
    # a drop of 9.9 points is under the margin (10): the model does not read the colour
    blind = [run(0, 66.0, 56.1)]
    assert uses_colour(blind) is False
    assert uses_colour([run(0, 66.0, 56.0)]) is True
    assert uses_colour([]) is None
    table = make_table({'CA': {'balanced': blind, 'long-tailed': blind}}, [('CA', 'ca', None)], [0])
    assert table.count('**no: colour-blind**') == 2 and '| – |' in table


def test_type_and_colour_tables():
    types = dict(shape=90.0, left=91.0, top=92.0, closest_shape=60.0, furthest_shape=61.0)
    colours = {f'colour_{c}': 10.0 * i for i, c in enumerate(exp.COLOURS)}
    colours.update({f'colour_{c}_relational': 1.0 for c in exp.COLOURS})
    runs = [run(0, 70.0, 50.0, count=80.0, **types, **colours)]
    results = {'KEM': {'balanced': runs, 'long-tailed': runs}}
    methods = [('KEM', 'kem', None)]
    lines = make_type_table(results, methods).splitlines()
    assert lines[0].endswith('| shape | left | top | closest_shape | furthest_shape | count |')
    assert lines[2] == '| KEM | balanced | 90.0 | 91.0 | 92.0 | 60.0 | 61.0 | 80.0 |'
    lines = make_colour_table(results, methods).splitlines()
    assert lines[0].endswith('| red | green | blue | orange | gray | yellow |')
    assert lines[3] == '| KEM | long-tailed | 0.0 | 10.0 | 20.0 | 30.0 | 40.0 | 50.0 |'
    assert (
        make_colour_table(results, methods, 'relational')
        .splitlines()[2]
        .endswith('| 1.0 | 1.0 | 1.0 | 1.0 | 1.0 | 1.0 |')
    )
