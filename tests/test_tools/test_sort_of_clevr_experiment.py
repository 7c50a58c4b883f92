"""tools/experiments/sort_of_clevr.py runs end to end at a tiny size and writes its table."""

import importlib.util
import json
import os.path as osp

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool():
    path = osp.join(REPO, 'tools', 'experiments', 'sort_of_clevr.py')
    spec = importlib.util.spec_from_file_location('sort_of_clevr_experiment', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_table(tmp_path):
    tool = load_tool()
    work_dir = tmp_path / 'work'
    tool.main([
        '--iters', '2', '--train-images', '6', '--test-images', '4', '--batch-size', '3',
        '--seeds', '3', '--data-root', str(tmp_path / 'data'), '--work-dir', str(work_dir),
    ])  # fmt: skip
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
