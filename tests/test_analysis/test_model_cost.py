"""mmkem.analysis.model_cost: the settings' checks, where configs are found, the groups and ratios,
the rows of models that ran out of time or memory, the report table (the measurement itself, in
its worker process: tests/test_tools/test_model_cost_tool.py)."""

import json
import os.path as osp
import sys

import pytest

from mmkem.analysis import model_cost
from mmkem.analysis.model_cost import (
    EVENT_PREFIX,
    OUT_OF_MEMORY_EXIT,
    ModelCostSettings,
    add_ratios,
    format_table,
    is_out_of_memory,
    resolve_config,
    result_from_events,
    run_worker,
    summary_lines,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
KEM_CONFIG = 'configs/kem/kem_swin-t_40k_nyud-448x576.py'


def test_model_cost_rejects_bad_arguments():
    with pytest.raises(ValueError, match='--steps'):
        ModelCostSettings(steps=0)
    with pytest.raises(ValueError, match='--warmup'):
        ModelCostSettings(warmup=-1)
    with pytest.raises(ValueError, match='--size'):
        ModelCostSettings(size=(16, 64))
    with pytest.raises(ValueError, match='--time-budget'):
        ModelCostSettings(time_budget_s=0)
    with pytest.raises(ValueError, match='--memory-budget'):
        ModelCostSettings(memory_budget_mb=-5)
    with pytest.raises(ValueError, match='not found'):
        resolve_config('configs/none.py')
    with pytest.raises(ValueError, match='not found'):
        resolve_config('configs/none.py', root=REPO)
    assert ModelCostSettings().size is None  # each config's crop_size


def test_configs_are_found_as_given_or_under_the_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_config(KEM_CONFIG, root=REPO) == osp.join(REPO, KEM_CONFIG)
    (tmp_path / 'mine.py').write_text('')
    assert resolve_config('mine.py', root=REPO) == str(tmp_path / 'mine.py')


def result(config, neck, step_s, memory, n_s=2016, tasks=('semseg', 'depth'), cpu_s=None):
    cpu_s = step_s * 2 if cpu_s is None else cpu_s
    return dict(
        config=config, status='ok', neck=neck, tasks=list(tasks), size=[448, 576], grid=[28, 36],
        n_s=n_s, params=30e6, trainable_params=3e6, neck_params=0.3e6,
        neck_share_of_trainable=0.1, best_step_s=step_s, median_step_s=step_s,
        steps_per_s_best=1 / step_s, steps_per_s_median=1 / step_s,
        steps_per_cpu_s_median=1 / cpu_s, peak_over_imports_mb=memory,
        peak_over_built_mb=memory / 2, neck_fwd_bwd_s=0.01, neck_share_of_step=0.02,
        attention_kernels=[],
    )  # fmt: skip


def cells(line):
    return [cell.strip() for cell in line.split('|')[1:-1]]


def test_table_has_ratios_to_the_reference_and_the_papers():
    results = [
        result('a/kem.py', 'KEM', 0.5, 400.0),
        result('a/ca.py', 'TaskCrossAttention', 1.0, 600.0),
    ]
    results[1]['attention_kernels'] = ['aten::_scaled_dot_product_flash_attention_for_cpu']
    lines = format_table(results, markdown=True).splitlines()
    assert lines[0].startswith('| config | neck | tasks | grid (n_s) | params M |')
    assert len(lines) == 4
    head, row = cells(lines[0]), cells(lines[3])
    col = dict(zip(head, row))
    assert (col['config'], col['neck'], col['tasks'], col['grid (n_s)']) == (
        'ca', 'TaskCrossAttention', '2', '28x36 (2016)'
    )  # fmt: skip
    # step time / ref 1.0 / 0.5; the paper's 10.22 / 3.68; CPU time likewise; memory 600 / 400
    assert (col['step time / ref'], col['paper step time / ref']) == ('2.00', '2.78')
    assert col['CPU time / ref'] == '2.00'
    assert (col['memory / ref'], col['paper memory / ref']) == ('1.50', '1.18')
    assert col['attention kernel'] == 'flash_attention_for_cpu'
    assert dict(zip(head, cells(lines[2])))['note'] == 'reference'
    text = format_table(results).splitlines()
    assert text[0].split()[:2] == ['config', 'neck'] and set(text[1]) == {'-'}
    (line,) = summary_lines(results)
    assert line == (
        'KEM (kem) / TaskCrossAttention (ca), n_s 2016: 2.00x the speed (CPU time 2.00x; '
        'paper 2.78x)'
    )


def test_ratios_are_within_groups_of_the_same_tasks_and_grid():
    results = [
        result('kem16.py', 'KEM', 1.0, 100.0),
        result('ca16.py', 'TaskCrossAttention', 1.1, 110.0),
        result('kem8.py', 'KEM', 2.0, 200.0, n_s=8064),
        result('skem8.py', 'SKEM', 2.2, 200.0, n_s=8064),
        result('ca8.py', 'TaskCrossAttention', 6.0, 300.0, n_s=8064),
        result('kem8x4.py', 'KEM', 3.0, 300.0, n_s=8064, tasks='abcd'),
    ]
    # a model stopped before its first forward (grid unknown) joins the group before it
    results.append(dict(config='ca8x4.py', status='over time budget', neck='TaskCrossAttention'))
    add_ratios(results)
    refs = [r['reference'] for r in results]
    assert refs == ['kem16.py'] * 2 + ['kem8.py'] * 3 + ['kem8x4.py'] * 2
    assert results[4]['ratios']['step_time'] == pytest.approx(3.0)
    assert results[4]['ratios']['speed_median'] == pytest.approx(1 / 3)
    assert results[4]['ratios']['peak_over_imports'] == pytest.approx(1.5)
    assert results[1]['ratios']['step_time'] == pytest.approx(1.1)
    assert results[5]['ratios']['step_time'] == pytest.approx(1.0)
    assert results[6]['ratios']['step_time'] is None


def test_rows_of_models_that_did_not_finish():
    events = [
        dict(event='config', cpu_clock=1.0, neck='TaskCrossAttention', tasks=['a', 'b'],
             size=[448, 576]),
        dict(event='built', cpu_clock=2.0, params=40e6, trainable_params=4e6, neck_params=2e5,
             rss_imports_mb=800.0, rss_built_mb=950.0),
        dict(event='grid', cpu_clock=3.0, grid=[112, 144], n_s=32256),
    ]  # fmt: skip
    stopped = result_from_events(
        'ca4.py', events, 'over time budget', 'stopped after 60 s: in the first training step',
        running_s=50.0, running_cpu_s=40.0, peak_rss_mb=2000.0,
    )  # fmt: skip
    assert stopped['neck'] == 'TaskCrossAttention' and stopped['n_s'] == 32256
    assert stopped['params'] == 40e6 and stopped['neck_share_of_trainable'] == pytest.approx(0.05)
    assert stopped['step_s_lower_bound'] == 50.0 and stopped['cpu_step_s_lower_bound'] == 40.0
    assert stopped['peak_over_imports_mb_lower_bound'] == pytest.approx(1200.0)
    assert 'steps_per_s_median' not in stopped
    kem = result('kem4.py', 'KEM', 5.0, 900.0, n_s=32256, cpu_s=4.0)
    kem['tasks'] = ['a', 'b']
    rows = [kem, stopped]
    add_ratios(rows)
    assert stopped['ratios']['step_time_lower_bound'] == pytest.approx(10.0)
    assert stopped['ratios']['cpu_time_lower_bound'] == pytest.approx(10.0)
    lines = format_table(rows, markdown=True).splitlines()
    col = dict(zip(cells(lines[0]), cells(lines[3])))
    assert col['steps/s median'] == '< 0.020' and col['step time / ref'] == '> 10.00'
    assert col['CPU time / ref'] == '> 10.00' and col['peak over imports MB'] == '>= 1200'
    assert col['paper step time / ref'] == '2.78' and col['memory / ref'] == '-'
    assert col['note'] == 'stopped after 60 s: in the first training step'
    assert summary_lines(rows) == [
        'KEM (kem4) / TaskCrossAttention (ca4), n_s 32256: more than 10.00x the speed '
        '(CPU time more than 10.00x; paper 2.78x)'
    ]
    # timed steps finished before the stop: their median is the row's speed
    steps = [
        dict(event='step', cpu_clock=4.0 + i, index=i + 1, warmup=i == 0, wall=w)
        for i, w in enumerate([9.0, 3.0, 5.0])
    ]
    partial = result_from_events('ca.py', events + steps, 'over time budget', 'note')
    assert partial['step_s'] == [3.0, 5.0] and partial['median_step_s'] == pytest.approx(4.0)
    assert partial['cpu_step_s'] == [1.0, 1.0] and 'step_s_lower_bound' not in partial
    # nothing known but the config
    empty = result_from_events('x.py', [], 'killed', 'killed by signal 9')
    assert empty['neck'] is None and 'step_s_lower_bound' not in empty
    row = cells(format_table([empty], markdown=True).splitlines()[2])
    assert row[:4] == ['x', 'none', '-', '-'] and row[-1] == 'killed by signal 9'


def test_out_of_memory_errors_are_recognised():
    import torch

    assert is_out_of_memory(MemoryError())
    assert is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried"))
    assert is_out_of_memory(torch.OutOfMemoryError('CUDA out of memory'))
    assert not is_out_of_memory(RuntimeError('shape mismatch'))
    assert not is_out_of_memory(ValueError('out of memory'))


FAKE_WORKER = """
import json, os, signal, sys, time
def emit(event, **fields):
    print({prefix!r} + json.dumps(dict(event=event, cpu_clock=time.process_time(), **fields)),
          flush=True)
emit('config', neck='TaskCrossAttention', tasks=['a', 'b'], size=[64, 64])
emit('built', params=10, trainable_params=5, neck_params=1, rss_imports_mb=1.0, rss_built_mb=2.0)
emit('grid', grid=[8, 8], n_s=128)
mode = sys.argv[1]
if mode == 'sleep':
    time.sleep(120)
elif mode == 'oom':
    emit('out_of_memory', error="RuntimeError: can't allocate memory")
    sys.exit({oom})
elif mode == 'kill':
    os.kill(os.getpid(), signal.SIGKILL)
else:
    sys.exit('some other failure')
"""


@pytest.fixture
def fake_worker(tmp_path, monkeypatch):
    """Replace the worker by a script that reports its build, then sleeps, fails or is killed."""
    script = tmp_path / 'worker.py'
    script.write_text(FAKE_WORKER.format(prefix=EVENT_PREFIX, oom=OUT_OF_MEMORY_EXIT))

    def use(mode):
        monkeypatch.setattr(
            model_cost,
            'worker_command',
            lambda config, settings: [sys.executable, str(script), mode],
        )

    return use


def test_a_worker_over_its_time_budget_is_stopped_and_its_row_says_so(fake_worker):
    fake_worker('sleep')
    row = run_worker('ca.py', ModelCostSettings(time_budget_s=4))
    assert row['status'] == 'over time budget'
    assert row['note'] == 'stopped after 4 s: in the first training step'
    assert row['n_s'] == 128 and row['params'] == 10
    # the step it was in had run (nearly) the whole budget: a lower bound of the step
    assert 0 < row['step_s_lower_bound'] <= 4.5
    assert row['cpu_step_s_lower_bound'] >= 0


def test_a_worker_out_of_memory_or_killed_gets_a_row_and_other_failures_raise(fake_worker):
    fake_worker('oom')
    row = run_worker('ca.py', ModelCostSettings(memory_budget_mb=100))
    assert row['status'] == 'out of memory' and row['grid'] == [8, 8]
    assert row['note'].startswith('over the memory budget (100 MiB): in the first training step')
    assert "can't allocate memory" in row['note']
    assert 'error' not in row
    fake_worker('kill')
    row = run_worker('ca.py', ModelCostSettings())
    assert row['status'] == 'killed' and row['note'].startswith('killed by signal 9')
    fake_worker('fail')
    with pytest.raises(RuntimeError, match='some other failure'):
        run_worker('ca.py', ModelCostSettings())


def test_report_files_have_the_table_and_the_summary(tmp_path):
    results = [result('kem.py', 'KEM', 0.5, 400.0), result('ca.py', 'TaskCrossAttention', 2.0, 500)]
    meta = dict(date='2026-12-02 02:00 UTC', device='cpu')
    settings = ModelCostSettings(time_budget_s=600, memory_budget_mb=8000)
    model_cost.write_report(str(tmp_path), dict(meta=meta, models=add_ratios(results)), settings)
    text = (tmp_path / 'results.md').read_text()
    assert "each config's crop, batch 2" in text and 'time budget 600 s per model' in text
    assert '- KEM (kem) / TaskCrossAttention (ca), n_s 2016: 4.00x the speed' in text
    saved = json.loads((tmp_path / 'results.json').read_text())
    assert saved['models'][1]['ratios']['step_time'] == pytest.approx(4.0)
    assert saved['paper']['TaskCrossAttention']['steps_per_s'] == pytest.approx(3.68)
