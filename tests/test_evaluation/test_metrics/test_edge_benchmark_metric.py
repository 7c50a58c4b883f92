"""MultiTaskMetric's edge keys: the benchmark's names, cheaper settings named, options checked."""

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import METRICS

import mmkem  # noqa: F401  (registers the modules)
from mmkem.evaluation import functional as F

init_default_scope('mmseg')


def _sample(seed, name):
    rng = np.random.default_rng(seed)
    labels = np.kron(rng.integers(0, 3, (4, 5)), np.ones((12, 12)))[:40, :56]
    gt = F.seg2bmap(labels).astype(np.uint8)
    pred = np.clip(gt * 0.7 + 0.2 * rng.random(gt.shape), 0, 1).astype(np.float32)
    return (
        dict(
            img_path=f'/data/images/{name}.png',
            gt_edge=dict(data=torch.tensor(gt[None])),
            pred_edge=dict(data=torch.tensor(pred[None])),
        ),
        pred,
        gt,
    )


def _metric(**kwargs):
    return METRICS.build(dict(type='MultiTaskMetric', tasks=['edge'], **kwargs))


def test_full_protocol_keys_equal_the_functional_benchmark():
    samples = [_sample(s, f'img{s}') for s in range(3)]
    metric = _metric(edge_max_dist=0.011, references=dict(edge=50.0))
    metric.process({}, [s[0] for s in samples])
    out = metric.evaluate(3)
    assert list(out)[:3] == ['edge/odsF', 'edge/oisF', 'edge/AP']
    counts = [F.boundary_counts(p, g, max_dist=0.011) for _, p, g in samples]
    stacked = {k: np.stack([c[k] for c in counts]) for k in counts[0]}
    ref = F.boundary_scores(**stacked)
    for key in ('odsF', 'oisF', 'AP'):
        assert out[f'edge/{key}'] == pytest.approx(ref[key])
    # Δm uses odsF, the main metric
    assert out['delta_m'] == pytest.approx((out['edge/odsF'] - 50) / 50 * 100)


def test_cheap_settings_are_named_in_the_keys():
    names = [f'img{i}' for i in range(40)]
    kept = [n for n in names if F.in_subset(f'{n}.png', 4)]
    assert 0 < len(kept) < len(names)
    metric = _metric(edge_thresholds=11, edge_subset=4)
    samples = [_sample(i, n) for i, n in enumerate(names)]
    metric.process({}, [s[0] for s in samples])
    out = metric.evaluate(len(names))
    assert set(out) == {'edge/odsF_t11_sub4', 'edge/oisF_t11_sub4', 'edge/AP_t11_sub4'}
    # only the subset counts
    counts = [
        F.boundary_counts(p, g, F.resolve_thresholds(11))
        for (meta, p, g) in samples
        if F.in_subset(meta['img_path'], 4)
    ]
    stacked = {k: np.stack([c[k] for c in counts]) for k in counts[0]}
    assert out['edge/odsF_t11_sub4'] == pytest.approx(F.boundary_scores(**stacked)['odsF'])
    no_nms = _metric(edge_nms=False, edge_thin=False)
    assert no_nms.metric_names('edge') == [
        'odsF_nonms_nothin',
        'oisF_nonms_nothin',
        'AP_nonms_nothin',
    ]


def test_a_subset_without_evaluated_samples_says_so():
    name = next(f'x{i}' for i in range(100) if not F.in_subset(f'x{i}.png', 7))
    metric = _metric(edge_subset=7)
    metric.process({}, [_sample(0, name)[0]])
    with pytest.raises(ValueError, match='edge_subset'):
        metric.evaluate(1)


@pytest.mark.parametrize(
    'kwargs, match',
    [
        (dict(edge_max_dist=2.0), 'edge_max_dist'),
        (dict(edge_thresholds=[1.5]), 'edge_thresholds'),
        (dict(edge_thresholds=0), 'edge_thresholds'),
        (dict(edge_nms='yes'), 'edge_nms'),
        (dict(edge_subset=0), 'edge_subset'),
    ],
)
def test_bad_edge_options_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _metric(**kwargs)


def test_workers_give_the_same_metrics_and_name_errors():
    samples = [_sample(s, f'w{s}')[0] for s in range(5)]
    here = _metric(edge_thresholds=7)
    here.process({}, samples[:3])
    here.process({}, samples[3:])
    pool = _metric(edge_thresholds=7, workers=2)
    pool.process({}, samples[:3])
    pool.process({}, samples[3:])
    assert pool.evaluate(5) == pytest.approx(here.evaluate(5))
    assert pool._pool is None  # closed by evaluate
    bad = dict(samples[0], gt_edge=dict(data=torch.zeros(1, 5, 5)))
    failing = _metric(workers=1)
    failing.process({}, [bad])
    with pytest.raises(ValueError, match="task 'edge'"):
        failing.evaluate(1)
    with pytest.raises(ValueError, match='workers'):
        _metric(workers=-1)
