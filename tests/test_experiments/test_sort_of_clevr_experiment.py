"""mmkem.experiments.sort_of_clevr (tools/experiments/sort_of_clevr.py) runs end to end at a tiny
size and writes its table."""

import json
import os.path as osp

from mmkem.experiments.sort_of_clevr import make_table, run_table1

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(REPO, 'configs', 'sort_of_clevr')


def test_tiny_table(tmp_path):
    work_dir = tmp_path / 'work'
    # what `tools/experiments/sort_of_clevr.py --iters 2 --train-images 6 --test-images 4
    # --batch-size 3 --seeds 3 --data-root ... --work-dir ...` runs
    out = run_table1(
        CONFIG_DIR, [3], dict(train_images=6, test_images=4, iters=2), str(tmp_path / 'data'),
        str(work_dir), batch_size=3, command='python tools/experiments/sort_of_clevr.py',
    )  # fmt: skip
    result = json.loads((work_dir / 'table1.json').read_text())
    assert result['setting']['test_split'] == 'balanced'
    assert result['setting']['iters'] == 2 and result['setting']['train_images'] == 6
    assert result['paper']['KEM'] == {'balanced': 81.0, 'long-tailed': 71.0}
    for method in ('KEM', 'sKEM (task_axis)'):
        for dist in ('balanced', 'long-tailed'):
            runs = result['results'][method][dist]
            assert [r['seed'] for r in runs] == [3]
            assert all(0.0 <= r['accuracy'] <= 100.0 for r in runs)
    table = (work_dir / 'table1.md').read_text()
    assert (
        table.count('| KEM |') == 2
        and '| 1 | 3 |' in table
        and '| 81 |' in table
        and '| 79 |' in table
    )
    # balanced and long-tailed training sets share the scenes; one balanced test set
    names = sorted(p.name for p in (tmp_path / 'data').iterdir())
    assert names == [
        'sort_of_clevr_n4_q10_s1_balanced.npz',
        'sort_of_clevr_n6_q10_s0_balanced.npz',
        'sort_of_clevr_n6_q10_s0_lt-colour-2.npz',
    ]
    assert out['table'] in table and out['header'] in table
    assert out['setting']['command'] == 'python tools/experiments/sort_of_clevr.py'


def test_table_cells_are_mean_and_sample_std_over_seeds():
    runs = [
        dict(accuracy=50.0, non_relational=60.0, relational=40.0, seed=0),
        dict(accuracy=54.0, non_relational=62.0, relational=46.0, seed=1),
    ]
    results = {'KEM': {'balanced': runs, 'long-tailed': runs[:1]}}
    lines = make_table(results, [('KEM', 'kem', (81.0, 71.0))], [0, 1]).splitlines()
    assert lines[0] == (
        '| Model | Train distribution | Accuracy (%) | Non-relational | Relational | Paper | Runs '
        '| Seeds |'
    )
    assert lines[1] == '|---|---|---|---|---|---|---|---|'
    # std of (50, 54) with n - 1: 2.83; one run: the mean alone
    assert lines[2] == '| KEM | balanced | 52.0 ± 2.8 | 61.0 ± 1.4 | 43.0 ± 4.2 | 81 | 2 | 0, 1 |'
    assert lines[3] == '| KEM | long-tailed | 50.0 | 60.0 | 40.0 | 71 | 1 | 0, 1 |'
