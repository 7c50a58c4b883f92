"""mmkem.analysis.model_cost: the settings' checks, where configs are found, the report table (the
measurement itself, in its worker process: tests/test_tools/test_model_cost_tool.py)."""

import os.path as osp

import pytest

from mmkem.analysis.model_cost import ModelCostSettings, format_table, resolve_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
KEM_CONFIG = 'configs/kem/kem_swin-t_40k_nyud-448x576.py'


def test_model_cost_rejects_bad_arguments():
    with pytest.raises(ValueError, match='--steps'):
        ModelCostSettings(steps=0)
    with pytest.raises(ValueError, match='--warmup'):
        ModelCostSettings(warmup=-1)
    with pytest.raises(ValueError, match='--size'):
        ModelCostSettings(size=(16, 64))
    with pytest.raises(ValueError, match='not found'):
        resolve_config('configs/none.py')
    with pytest.raises(ValueError, match='not found'):
        resolve_config('configs/none.py', root=REPO)


def test_configs_are_found_as_given_or_under_the_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_config(KEM_CONFIG, root=REPO) == osp.join(REPO, KEM_CONFIG)
    (tmp_path / 'mine.py').write_text('')
    assert resolve_config('mine.py', root=REPO) == str(tmp_path / 'mine.py')


def test_table_has_ratios_to_the_first_model_and_the_papers():
    def result(neck, steps_per_s, memory):
        return dict(
            neck=neck, params=30e6, trainable_params=3e6, neck_params=0.3e6,
            neck_share_of_trainable=0.1, steps_per_s_best=steps_per_s,
            steps_per_s_median=steps_per_s, steps_per_cpu_s_median=steps_per_s / 2,
            peak_over_imports_mb=memory, peak_over_built_mb=memory / 2, neck_fwd_bwd_s=0.01,
            neck_share_of_step=0.02,
        )  # fmt: skip

    results = [result('KEM', 2.0, 400.0), result('TaskCrossAttention', 1.0, 600.0)]
    lines = format_table(results, markdown=True).splitlines()
    assert lines[0].startswith('| model | params M | trainable M |') and len(lines) == 4
    cells = [cell.strip() for cell in lines[3].split('|')[1:-1]]
    # speed / ref, CPU speed / ref, paper speed / ref (3.68 / 10.22), memory / ref, paper's
    assert cells[0] == 'TaskCrossAttention'
    assert (cells[6], cells[8], cells[9]) == ('0.50', '0.50', '0.36')
    assert (cells[12], cells[13]) == ('1.50', '1.18')
    text = format_table(results).splitlines()
    assert text[0].split()[:3] == ['model', 'params', 'M'] and set(text[1]) == {'-'}
