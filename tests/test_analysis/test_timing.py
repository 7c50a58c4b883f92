"""mmkem.analysis.timing: the one timing loop, on a fake clock that each call advances."""

import pytest

from mmkem.analysis import timing
from mmkem.analysis.timing import Timings, time_call, time_forward_backward, time_interleaved


class FakeClocks:
    """A wall clock and a CPU clock that only the timed functions advance."""

    def __init__(self):
        self.wall = 0.0
        self.cpu = 0.0
        self.calls = []

    def function(self, name, wall_costs, cpu_share=0.5):
        """A function that takes ``wall_costs[i]`` seconds on its i-th call."""
        costs = iter(wall_costs)

        def fn():
            cost = next(costs)
            self.calls.append(name)
            self.wall += cost
            self.cpu += cpu_share * cost

        return fn

    def kwargs(self):
        return dict(clock=lambda: self.wall, cpu_clock=lambda: self.cpu)


def test_warmup_is_run_but_not_recorded():
    clocks = FakeClocks()
    fn = clocks.function('f', [10.0, 3.0, 1.0, 2.0])
    t = time_call(fn, 3, warmup=1, **clocks.kwargs())
    assert clocks.calls == ['f'] * 4
    assert t.wall == [3.0, 1.0, 2.0] and t.cpu == [1.5, 0.5, 1.0]
    assert (t.best, t.median, t.cpu_best, t.cpu_median) == (1.0, 2.0, 0.5, 1.0)


def test_warmup_only():
    clocks = FakeClocks()
    t = time_call(clocks.function('f', [1.0, 1.0]), 0, warmup=2, **clocks.kwargs())
    assert clocks.calls == ['f', 'f'] and t.wall == [] and t.cpu == []


def test_rounds_interleave_the_functions():
    clocks = FakeClocks()
    fns = {
        'a': clocks.function('a', [9.0, 1.0, 2.0]),
        'b': clocks.function('b', [9.0, 4.0, 3.0]),
    }
    times = time_interleaved(fns, 2, warmup=1, **clocks.kwargs())
    assert clocks.calls == ['a', 'b', 'a', 'b', 'a', 'b']
    assert times['a'].wall == [1.0, 2.0] and times['b'].wall == [4.0, 3.0]
    assert times['b'].best == 3.0 and times['b'].median == 3.5


def test_fast_calls_run_until_the_minimum_total_up_to_max_runs():
    clocks = FakeClocks()
    # 0.1 s per call: 3 repeats are not 0.5 s, so 5 calls are timed (0.1 * 5 = 0.5 is enough)
    t = time_call(
        clocks.function('f', [0.1] * 40), 3, warmup=1, min_total_s=0.45, max_runs=30,
        **clocks.kwargs(),
    )  # fmt: skip
    assert len(t.wall) == 5 and len(clocks.calls) == 6
    # a call that never adds up stops at max_runs
    clocks = FakeClocks()
    t = time_call(
        clocks.function('f', [0.001] * 40), 3, min_total_s=0.5, max_runs=7, **clocks.kwargs()
    )
    assert len(t.wall) == 7
    # slow calls: the repeats alone
    clocks = FakeClocks()
    t = time_call(
        clocks.function('f', [1.0] * 40), 3, min_total_s=0.5, max_runs=30, **clocks.kwargs()
    )
    assert len(t.wall) == 3
    # without max_runs the minimum total does not add runs
    clocks = FakeClocks()
    t = time_call(clocks.function('f', [0.1] * 40), 2, min_total_s=10.0, **clocks.kwargs())
    assert len(t.wall) == 2


def test_every_call_is_bracketed_by_a_device_sync(monkeypatch):
    events = []
    monkeypatch.setattr(timing, 'synchronize', lambda device: events.append(('sync', device)))
    time_call(lambda: events.append('call'), 2, warmup=1, device='cuda:1')
    assert events == [('sync', 'cuda:1'), 'call', ('sync', 'cuda:1')] * 3


def test_synchronize_leaves_the_cpu_alone(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, 'synchronize', lambda: pytest.fail('synchronised a CPU'))
    timing.synchronize('cpu')
    timing.synchronize(None)


def test_real_clock_and_bad_arguments():
    t = time_call(lambda: sum(range(1000)), 3)
    assert len(t.wall) == len(t.cpu) == 3 and all(w >= 0 for w in t.wall)
    with pytest.raises(ValueError, match='>= 0'):
        time_call(lambda: None, -1)
    with pytest.raises(ValueError, match='>= 0'):
        time_call(lambda: None, 1, warmup=-1)
    assert Timings([2.0, 1.0, 3.0], [1.0, 1.0, 1.0]).median == 2.0


def test_forward_backward_of_a_neck():
    import torch

    calls = []

    class Neck(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(()))

        def forward(self, feats):
            calls.append(len(feats))
            return [self.scale * feat for feat in feats]

    neck = Neck()
    feats = [torch.ones(1, 2, 3, 3, requires_grad=True) for _ in range(2)]
    best = time_forward_backward(neck, feats, 3)
    assert best > 0 and calls == [2] * 4  # one warm-up call, three timed
    # d/d scale of the sum over outputs of mean(scale^2 x^2) = 2 scale per output, 4 calls
    assert neck.scale.grad.item() == pytest.approx(4 * 2 * 2.0)
