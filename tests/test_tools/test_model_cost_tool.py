"""tools/analysis/model_cost.py at a tiny size: one config, one step, in its own worker process."""

import json
import os.path as osp
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
KEM_CONFIG = 'configs/kem/kem_swin-t_40k_nyud-448x576.py'
CA_S8_CONFIG = 'configs/baselines/ca_swin-t-s8_40k_nyud-448x576.py'


def test_model_cost_tiny_run(tmp_path, run):
    out = tmp_path / 'cost'
    # the config path relative to the repository root works from any directory
    cmd = [sys.executable, osp.join(REPO, 'tools', 'analysis', 'model_cost.py')]
    cmd += ['--configs', KEM_CONFIG, '--size', '64', '64', '--batch-size', '1', '--warmup', '0']
    cmd += ['--steps', '1', '--neck-repeats', '1', '--device', 'cpu', '--out', str(out)]
    res = run(cmd, cwd=str(tmp_path))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert f'measuring {KEM_CONFIG} ...' in res.stdout and 'wrote results.json' in res.stdout
    saved = json.loads((out / 'results.json').read_text())
    assert (out / 'results.md').read_text().count('| KEM |') == 1
    meta = saved['meta']
    assert meta['size'] == [64, 64] and meta['batch_size'] == 1 and meta['steps'] == 1
    assert 'random' in meta['weights']
    assert meta['command'].startswith('python tools/analysis/model_cost.py --configs')
    (model,) = saved['models']
    assert model['neck'] == 'KEM'
    assert model['config'].endswith(KEM_CONFIG)
    # Swin-T (about 27.5M) is frozen: trainable = task branches, neck and heads
    assert 25e6 < model['params'] < 50e6
    assert 0 < model['trainable_params'] < model['params'] - 25e6
    # KEM at C = 256: six C x C projections with bias, the 20 x 256 memory and two LayerNorms
    assert model['neck_params'] == 6 * (256 * 256 + 256) + 20 * 256 + 2 * 2 * 256
    assert model['neck_share_of_trainable'] == pytest.approx(
        model['neck_params'] / model['trainable_params']
    )
    assert len(model['step_s']) == 1 and model['step_s'][0] > 0
    assert model['steps_per_s_best'] == pytest.approx(1 / model['best_step_s'])
    assert len(model['cpu_step_s']) == 1 and model['cpu_step_s'][0] > 0
    # memory: the built model holds at least its float32 parameters; the peak is above that
    assert model['peak_rss_reset_after_build'] is True
    assert model['rss_built_mb'] - model['rss_imports_mb'] > 4 * model['params'] / 2**20 * 0.9
    assert model['peak_over_imports_mb'] >= model['peak_over_built_mb'] > 0
    assert 0 < model['neck_fwd_bwd_s'] and model['neck_share_of_step'] == pytest.approx(
        model['neck_fwd_bwd_s'] / model['best_step_s']
    )
    assert model['status'] == 'ok' and model['reference'] == model['config']
    assert model['ratios']['step_time'] == pytest.approx(1.0)
    # the token grid of the interaction: the paper's stride 16
    assert model['grid'] == [4, 4] and model['n_s'] == 2 * 16
    assert model['attention_kernels'] == []  # KEM has no softmax attention over tokens
    assert saved['paper']['TaskCrossAttention']['steps_per_s'] == pytest.approx(3.68)


def test_model_cost_on_a_rep_mtl_config(tmp_path, run):
    """A Rep-MTL config differentiates twice through attention: its MathSDPAHook has to apply
    to the measured steps as in training (they used to stop: "derivative for
    aten::_scaled_dot_product_flash_attention_for_cpu_backward is not implemented")."""
    config = 'configs/rep_mtl/kem-rep-mtl_effnet-lite0_nyud-demo.py'
    out = tmp_path / 'cost'
    cmd = [sys.executable, osp.join(REPO, 'tools', 'analysis', 'model_cost.py')]
    cmd += ['--configs', config, '--size', '64', '64', '--batch-size', '2', '--warmup', '0']
    cmd += ['--steps', '1', '--neck-repeats', '1', '--device', 'cpu', '--out', str(out)]
    res = run(cmd, cwd=str(tmp_path))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    (model,) = json.loads((out / 'results.json').read_text())['models']
    assert model['neck'] == 'KEM' and model['step_s'][0] > 0


def test_model_cost_row_of_a_model_over_its_memory_budget(tmp_path, run):
    # Swin-T's float32 parameters alone are about 110 MB: a 50 MiB budget fails in the build
    out = tmp_path / 'cost'
    cmd = [sys.executable, osp.join(REPO, 'tools', 'analysis', 'model_cost.py')]
    cmd += ['--configs', CA_S8_CONFIG, '--size', '64', '64', '--batch-size', '1', '--warmup', '0']
    cmd += ['--steps', '1', '--device', 'cpu', '--memory-budget', '50', '--out', str(out)]
    res = run(cmd, cwd=str(tmp_path))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert 'out of memory: over the memory budget (50 MiB)' in res.stdout
    (model,) = json.loads((out / 'results.json').read_text())['models']
    assert model['status'] == 'out of memory' and model['neck'] == 'TaskCrossAttention'
    assert (out / 'results.md').read_text().count('over the memory budget (50 MiB)') == 1
