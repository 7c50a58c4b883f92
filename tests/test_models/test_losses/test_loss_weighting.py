"""Fixed, uncertainty and DWA loss weighting against hand computations."""

import math

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmkem  # noqa: F401

init_default_scope('mmseg')


def _total(losses):
    """What mmengine's parse_losses sums: the entries whose key contains 'loss'."""
    return sum(v for k, v in losses.items() if 'loss' in k)


def _losses(a, b):
    return {'a': {'loss_x': torch.tensor(a)}, 'b': {'loss_y': torch.tensor(b)}}


def test_fixed_weighting_scales_every_term():
    weighting = MODELS.build(
        dict(type='FixedLossWeighting', tasks=['a', 'b'], weights=dict(a=2.0, b=0.5))
    )
    out = weighting(
        {
            'a': {'loss_x': torch.tensor(3.0)},
            'b': {'loss_y': torch.tensor(4.0), 'loss_z': torch.tensor(1.0)},
        }
    )
    assert set(out) == {'a.loss_x', 'b.loss_y', 'b.loss_z', 'a.weight', 'b.weight'}
    assert out['a.loss_x'].item() == 6.0
    assert out['b.loss_y'].item() == 2.0 and out['b.loss_z'].item() == 0.5
    assert out['a.weight'].item() == 2.0 and out['b.weight'].item() == 0.5
    assert _total(out).item() == pytest.approx(8.5)


def test_fixed_weighting_defaults_and_errors():
    weighting = MODELS.build(dict(type='FixedLossWeighting', tasks=['a', 'b']))
    assert _total(weighting(_losses(3.0, 4.0))).item() == 7.0
    with pytest.raises(ValueError, match='weights'):
        MODELS.build(dict(type='FixedLossWeighting', tasks=['a', 'b'], weights=[1.0]))
    with pytest.raises(ValueError, match='one entry per task'):
        MODELS.build(dict(type='FixedLossWeighting', tasks=['a', 'b'], weights=dict(a=1.0)))
    with pytest.raises(ValueError, match=r"missing: \['b'\], unexpected: \['c'\]"):
        weighting({'a': {'loss_x': torch.tensor(1.0)}, 'c': {'loss_x': torch.tensor(1.0)}})
    with pytest.raises(ValueError, match='repeat'):
        MODELS.build(dict(type='FixedLossWeighting', tasks=['a', 'a']))


def test_uncertainty_weighting_value_and_gradients():
    weighting = MODELS.build(dict(type='UncertaintyLossWeighting', tasks=['a', 'b']))
    with torch.no_grad():
        weighting.log_vars.copy_(torch.tensor([0.5, -1.0]))
    la = torch.tensor(2.0, requires_grad=True)
    lb = torch.tensor(3.0, requires_grad=True)
    out = weighting({'a': {'loss_x': la}, 'b': {'loss_y': lb}})
    assert set(out) == {
        'a.loss_x',
        'b.loss_y',
        'a.weight',
        'b.weight',
        'a.loss_log_var',
        'b.loss_log_var',
    }
    total = _total(out)
    expected = math.exp(-0.5) * 2 + 0.5 + math.exp(1.0) * 3 - 1.0
    assert total.item() == pytest.approx(expected, rel=1e-6)
    total.backward()
    # d/ds_i (exp(-s_i) L_i + s_i) = 1 - exp(-s_i) L_i;  d/dL_i = exp(-s_i)
    grad = weighting.log_vars.grad
    assert grad[0].item() == pytest.approx(1 - math.exp(-0.5) * 2, rel=1e-6)
    assert grad[1].item() == pytest.approx(1 - math.exp(1.0) * 3, rel=1e-6)
    assert la.grad.item() == pytest.approx(math.exp(-0.5), rel=1e-6)
    assert out['b.weight'].item() == pytest.approx(math.exp(1.0), rel=1e-6)
    assert not out['a.weight'].requires_grad


def _dwa_weights(r, temperature=2.0):
    exps = [math.exp(x / temperature) for x in r]
    return [len(r) * e / sum(exps) for e in exps]


def test_dwa_over_several_steps():
    weighting = MODELS.build(dict(type='DWALossWeighting', tasks=['a', 'b'], temperature=2.0))
    weighting.train()
    history = [(1.0, 2.0), (0.5, 1.5), (0.4, 1.2), (0.4, 0.6)]
    seen = []
    for a, b in history:
        out = weighting(_losses(a, b))
        seen.append((out['a.weight'].item(), out['b.weight'].item()))
    # Steps 1 and 2: not enough history, weights 1.
    assert seen[0] == (1.0, 1.0) and seen[1] == (1.0, 1.0)
    # Step 3 uses r = L(2) / L(1); step 4 uses L(3) / L(2).
    assert seen[2] == pytest.approx(_dwa_weights([0.5 / 1.0, 1.5 / 2.0]), rel=1e-6)
    assert seen[3] == pytest.approx(_dwa_weights([0.4 / 0.5, 1.2 / 1.5]), rel=1e-6)
    # The weighted losses use those weights.
    assert out['a.loss_x'].item() == pytest.approx(seen[3][0] * 0.4, rel=1e-6)


def test_dwa_update_interval_averages_iterations():
    weighting = MODELS.build(
        dict(type='DWALossWeighting', tasks=['a', 'b'], temperature=1.0, update_interval=2)
    )
    weighting.train()
    for a, b in [(1.0, 4.0), (3.0, 2.0), (1.0, 2.0), (1.0, 1.0)]:  # means (2, 3) then (1, 1.5)
        weighting(_losses(a, b))
    out = weighting(_losses(9.0, 9.0))
    expected = _dwa_weights([1 / 2, 1.5 / 3], temperature=1.0)
    assert [out['a.weight'].item(), out['b.weight'].item()] == pytest.approx(expected, rel=1e-6)


def test_dwa_state_survives_checkpoint_and_eval_does_not_update():
    weighting = MODELS.build(dict(type='DWALossWeighting', tasks=['a', 'b']))
    weighting.train()
    for a, b in [(1.0, 2.0), (0.5, 1.5)]:
        weighting(_losses(a, b))
    state = weighting.state_dict()
    assert {'loss_history', 'num_intervals', 'running_sum', 'running_count'} <= set(state)

    resumed = MODELS.build(dict(type='DWALossWeighting', tasks=['a', 'b']))
    resumed.load_state_dict(state)
    resumed.eval()
    expected = _dwa_weights([0.5 / 1.0, 1.5 / 2.0])
    for _ in range(2):  # eval calls leave the history alone
        out = resumed(_losses(7.0, 7.0))
        assert [out['a.weight'].item(), out['b.weight'].item()] == pytest.approx(expected)
    fresh = MODELS.build(dict(type='DWALossWeighting', tasks=['a', 'b']))
    assert fresh(_losses(7.0, 7.0))['a.weight'].item() == 1.0


def test_dwa_bad_args():
    with pytest.raises(ValueError, match='temperature'):
        MODELS.build(dict(type='DWALossWeighting', tasks=['a'], temperature=0))
    with pytest.raises(ValueError, match='update_interval'):
        MODELS.build(dict(type='DWALossWeighting', tasks=['a'], update_interval=0))
