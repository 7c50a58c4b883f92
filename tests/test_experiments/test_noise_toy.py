"""The Fig. 1 toy: the attention-mass measurement, the data, a short run and the tool's files."""

import json
import math
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from mmkem.experiments import (
    NoiseToyConfig,
    NoiseToyData,
    NoiseToyModel,
    effective_attention,
    measure,
    noise_share,
    run_noise_toy,
    segment_mass,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_segment_mass_and_noise_share_on_a_hand_built_map():
    # 5 tokens: task 1 = {0, 1}, task 2 = {2, 3}, task 3 (noise) = {4}
    lengths = [2, 2, 1]
    attn = torch.tensor(
        [
            [0.1, 0.2, 0.3, 0.2, 0.2],  # noise mass 0.2
            [0.0, 0.0, 0.5, 0.0, 0.5],  # 0.5
            [0.25, 0.25, 0.25, 0.25, 0.0],  # 0.0
            [0.1, 0.1, 0.1, 0.1, 0.6],  # 0.6
            [0.0, 0.0, 0.0, 0.0, 1.0],  # a task-3 row: not counted
        ]
    )
    torch.testing.assert_close(segment_mass(attn, lengths, 2), attn[:, 4])
    torch.testing.assert_close(segment_mass(attn, lengths, 1), attn[:, 2] + attn[:, 3])
    expected = (0.2 + 0.5 + 0.0 + 0.6) / 4
    assert noise_share(attn, lengths, 2, query_segments=(0, 1)) == pytest.approx(expected)
    assert noise_share(attn[None, None], lengths, -1, (0, 1)) == pytest.approx(expected)
    # only task 1's rows
    assert noise_share(attn, lengths, 2, query_segments=(0,)) == pytest.approx(0.35)
    # a retrieve map (L = 2 slots x 5 tokens): mean over all slots
    retrieve = torch.tensor([[0.0, 0.0, 0.3, 0.3, 0.4], [0.5, 0.5, 0.0, 0.0, 0.0]])
    assert noise_share(retrieve, lengths, 2) == pytest.approx(0.2)


def test_noise_share_rejects_bad_arguments():
    attn = torch.full((6, 6), 1 / 6)
    with pytest.raises(ValueError, match='add up'):
        noise_share(attn, [2, 2, 1], 2)
    with pytest.raises(ValueError, match='segment'):
        segment_mass(attn, [2, 2, 2], 3)
    with pytest.raises(ValueError, match='token-to-token'):
        noise_share(attn[:4], [2, 2, 2], 2, query_segments=(0,))
    with pytest.raises(ValueError, match='dims'):
        NoiseToyConfig(dims=0)
    with pytest.raises(ValueError, match='model_type'):
        NoiseToyModel('mlp', NoiseToyConfig())


def test_effective_attention_is_write_times_retrieve():
    gen = torch.Generator().manual_seed(0)
    write = torch.rand(2, 1, 6, 4, generator=gen).softmax(-1)
    retrieve = torch.rand(2, 1, 4, 6, generator=gen).softmax(-1)
    eff = effective_attention(dict(write=write, retrieve=retrieve))
    manual = torch.einsum('bhnl,bhlm->bhnm', write, retrieve)
    torch.testing.assert_close(eff, manual)
    torch.testing.assert_close(eff.sum(-1), torch.ones(2, 1, 6))
    full = torch.rand(1, 1, 6, 6, generator=gen)
    assert effective_attention(dict(attention=full)) is full


def test_data_task3_is_standard_normal_noise_independent_of_targets():
    cfg = NoiseToyConfig(tokens_per_task=8, dims=16, latent_dims=4)
    data = NoiseToyData(cfg, seed=0)
    tokens, target = data.sample(4000, torch.Generator().manual_seed(1))
    assert [tuple(t.shape) for t in tokens] == [(4000, 8, 16)] * 3
    assert target.shape == (4000, 8)
    noise = tokens[2]
    assert abs(float(noise.mean())) < 0.01
    assert float(noise.var()) == pytest.approx(1.0, abs=0.02)
    # no correlation of any noise entry with any target entry (4000 samples: |r| < 0.06)
    flat = noise.flatten(1)
    flat = (flat - flat.mean(0)) / flat.std(0)
    z = (target - target.mean(0)) / target.std(0)
    corr = flat.T @ z / (len(z) - 1)
    assert float(corr.abs().max()) < 0.08
    # task 1 carries z_a (the first r target entries), task 2 z_b: the token mean minus the task
    # mean, projected back, recovers them
    for t in range(2):
        centred = tokens[t].mean(1) - cfg.mean_scale * data.means[t]
        latent = centred @ torch.linalg.pinv(data.projections[t]).T / cfg.signal_scale
        part = target[:, t * 4 : (t + 1) * 4]
        assert float((latent - part).pow(2).mean()) < 0.15
    # the same generator seed gives the same batch
    again, _ = data.sample(4000, torch.Generator().manual_seed(1))
    torch.testing.assert_close(again[2], noise)


def test_measure_reads_both_models():
    cfg = NoiseToyConfig(tokens_per_task=4, dims=8, latent_dims=2, num_slots=5, topk=2)
    data = NoiseToyData(cfg)
    tokens, target = data.sample(3, torch.Generator().manual_seed(0))
    for model_type in ('cross_attention', 'kem'):
        model = NoiseToyModel(model_type, cfg)
        out = measure(model, tokens, target, data.lengths)
        assert len(out['noise_share']) == cfg.num_layers
        assert all(0.0 <= v <= 1.0 for v in out['noise_share'])
        # by hand from the first layer's maps
        with torch.no_grad():
            _, attns = model(tokens)
        eff = effective_attention(attns[0])
        manual = float(eff[..., :8, 8:].sum(-1).mean())
        assert out['noise_share'][0] == pytest.approx(manual, abs=1e-6)
        if model_type == 'kem':
            retrieve = attns[0]['retrieve']
            assert out['retrieve_noise_share'][0] == pytest.approx(
                float(retrieve[..., 8:].sum(-1).mean()), abs=1e-6
            )


def test_short_run_is_finite():
    cfg = NoiseToyConfig(
        tokens_per_task=4, dims=8, latent_dims=2, num_slots=4, topk=2, steps=3, batch_size=4,
        eval_size=8, seeds=[0, 1], curve_steps=[1, 2, 50],
    )  # fmt: skip
    result = run_noise_toy(cfg)
    assert result['chance'] == pytest.approx(1 / 3)
    assert len(result['runs']) == 4
    for run in result['runs']:
        assert math.isfinite(run['final_loss'])
        for stage in ('init', 'trained'):
            assert math.isfinite(run[stage]['mse'])
            assert all(math.isfinite(v) for v in run[stage]['noise_share'])
    kem = result['summary']['kem']
    assert set(kem) == {'noise_share', 'other_task_share', 'retrieve_noise_share', 'mse', 'curve'}
    assert len(kem['noise_share']['trained']) == 2
    assert set(result['summary']['cross_attention']) == {
        'noise_share',
        'other_task_share',
        'mse',
        'curve',
    }
    # the curve: init, the curve steps within the run, the last step (= the trained numbers)
    for model in ('cross_attention', 'kem'):
        curve = result['summary'][model]['curve']
        assert [point['step'] for point in curve] == [0, 1, 2, 3]
        assert curve[0]['noise_share'] == result['summary'][model]['noise_share']['init']
        assert curve[-1]['noise_share'] == result['summary'][model]['noise_share']['trained']


def test_tool_writes_its_files(tmp_path):
    out = tmp_path / 'toy'
    args = ['--seeds', '0', '--steps', '2', '--batch-size', '4', '--eval-size', '8']
    args += ['--tokens-per-task', '4', '--dims', '8', '--num-slots', '4', '--out', str(out)]
    tool = osp.join(REPO, 'tools', 'experiments', 'noise_toy.py')
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}  # the tool finds its checkout
    res = subprocess.run(
        [sys.executable, tool, *args], cwd=str(tmp_path), env=env, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    for name in ('results.json', 'results.md', 'noise_share.png'):
        assert (out / name).is_file() and (out / name).stat().st_size > 0
    saved = json.loads((out / 'results.json').read_text())
    # the same run in this process: the tool passes its options through unchanged
    cfg = NoiseToyConfig(
        seeds=[0], steps=2, batch_size=4, eval_size=8, tokens_per_task=4, dims=8, num_slots=4
    )
    torch.set_num_threads(1)  # the tool's default --threads
    result = run_noise_toy(cfg)
    assert saved['summary'] == json.loads(json.dumps(result['summary']))
    assert saved['meta']['args']['steps'] == 2
    assert '| cross-attention, token->token | 1 |' in (out / 'results.md').read_text()
    assert 'chance (task-3 share of the tokens): 0.333' in res.stdout
