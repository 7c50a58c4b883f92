"""The command lines of tools/analysis/ and tools/experiments/ that no other test runs start from
any directory without PYTHONPATH and show their options. The measurements behind them are tested
in tests/test_analysis/ and tests/test_experiments/; sweep.py, model_cost.py and noise_toy.py run
end to end in test_sweep_tool.py, test_model_cost_tool.py and test_noise_toy.py."""

import os.path as osp
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.parametrize(
    'tool, option',
    [
        ('analysis/benchmark_necks.py', '--baseline-max-ns'),
        ('analysis/neck_cost.py', '--iters'),
        ('analysis/rep_mtl_overhead.py', '--rounds'),
        ('experiments/sort_of_clevr.py', '--long-tail-target'),
    ],
)
def test_tool_shows_its_options(tool, option, tmp_path, run):
    res = run([sys.executable, osp.join(REPO, 'tools', tool), '--help'], cwd=str(tmp_path))
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.startswith('usage: ') and option in res.stdout
