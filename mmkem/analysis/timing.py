"""The one timing loop of the cost tools: warm-up, repeats, wall and CPU time, min and median.

Every cost measurement of mmkem (whole training steps, the neck's forward+backward, the bare
interaction modules) times its calls here, so that warm-up, device synchronisation and the
statistics are the same for all of them.
"""

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence

__all__ = ['Timings', 'synchronize', 'time_call', 'time_forward_backward', 'time_interleaved']


@dataclass
class Timings:
    """Seconds of every timed call (warm-up calls left out).

    Args:
        wall (list[float]): Wall-clock seconds (``time.perf_counter``) of each call.
        cpu (list[float]): CPU seconds of the process, all its threads (``time.process_time``), of
            each call; other jobs on a shared machine disturb them much less than the wall clock.
    """

    wall: List[float] = field(default_factory=list)
    cpu: List[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        """The fastest call's wall seconds (on a loaded machine the stable estimate)."""
        return min(self.wall)

    @property
    def median(self) -> float:
        """The median wall seconds."""
        return statistics.median(self.wall)

    @property
    def cpu_best(self) -> float:
        """The smallest CPU seconds of a call."""
        return min(self.cpu)

    @property
    def cpu_median(self) -> float:
        """The median CPU seconds."""
        return statistics.median(self.cpu)


def synchronize(device: Optional[str]) -> None:
    """Wait for the queued kernels of a CUDA ``device`` (``'cuda'``, ``'cuda:1'``); else nothing."""
    if device is not None and str(device).startswith('cuda'):
        import torch

        torch.cuda.synchronize()


def time_interleaved(
    fns: Mapping[str, Callable[[], object]],
    repeats: int,
    warmup: int = 0,
    device: Optional[str] = None,
    min_total_s: float = 0.0,
    max_runs: Optional[int] = None,
    clock: Callable[[], float] = time.perf_counter,
    cpu_clock: Callable[[], float] = time.process_time,
) -> Dict[str, Timings]:
    """Time several calls in rounds: each round calls every function once, in the given order.

    Interleaving makes the drifts of a shared machine hit every function alike. The first
    ``warmup`` rounds are run but not recorded. Each call is bracketed by :func:`synchronize`, so
    that on a GPU its kernels are inside its own time; the CPU clock is read outside the wall-clock
    window.

    Args:
        fns (Mapping[str, callable]): Name -> function of no arguments (its result is ignored).
        repeats (int): Timed rounds (at least); 0 runs the warm-up only.
        warmup (int): Untimed rounds first. Defaults to 0.
        device (str, optional): The device the calls run on (``'cuda...'`` synchronises).
            Defaults to None (no synchronisation).
        min_total_s (float): With ``max_runs``, keep adding timed rounds while any function's
            total wall time is under this, up to ``max_runs`` timed rounds (fast calls get more
            runs). Defaults to 0.
        max_runs (int, optional): The cap of those extra rounds. Defaults to None (exactly
            ``repeats`` rounds).
        clock (callable): The wall clock. Defaults to ``time.perf_counter``.
        cpu_clock (callable): The CPU clock. Defaults to ``time.process_time``.

    Returns:
        dict[str, Timings]: The timings of each function.

    Raises:
        ValueError: ``repeats`` or ``warmup`` < 0.
    """
    if repeats < 0 or warmup < 0:
        raise ValueError(f'repeats and warmup must be >= 0, got {repeats} and {warmup}')
    timings = {name: Timings() for name in fns}

    def more() -> bool:
        done = len(next(iter(timings.values())).wall) if timings else 0
        if done < repeats:
            return True
        if max_runs is None or done >= max_runs:
            return False
        return min(sum(t.wall) for t in timings.values()) < min_total_s

    step = 0
    while step < warmup or more():
        for name, fn in fns.items():
            synchronize(device)
            cpu_start = cpu_clock()
            start = clock()
            fn()
            synchronize(device)
            wall = clock() - start
            cpu = cpu_clock() - cpu_start
            if step >= warmup:
                timings[name].wall.append(wall)
                timings[name].cpu.append(cpu)
        step += 1
    return timings


def time_call(
    fn: Callable[[], object],
    repeats: int,
    warmup: int = 0,
    device: Optional[str] = None,
    min_total_s: float = 0.0,
    max_runs: Optional[int] = None,
    clock: Callable[[], float] = time.perf_counter,
    cpu_clock: Callable[[], float] = time.process_time,
) -> Timings:
    """Time one function: :func:`time_interleaved` with a single entry (same arguments).

    Returns:
        Timings: Its wall and CPU seconds.
    """
    fns = {'fn': fn}
    return time_interleaved(fns, repeats, warmup, device, min_total_s, max_runs, clock, cpu_clock)[
        'fn'
    ]


def time_forward_backward(module, inputs: Sequence, repeats: int, device: Optional[str] = None):
    """Best seconds of ``module(inputs)`` forward + backward, after one warm-up call.

    The backward starts from the sum of the outputs' mean squares, so every output gets a
    gradient; the gradients of ``inputs`` and of the module accumulate (clear them after).

    Args:
        module (callable): Takes the list ``inputs`` and returns a list of tensors (a neck).
        inputs (Sequence[Tensor]): Its inputs (``requires_grad`` set by the caller if wanted).
        repeats (int): Timed calls.
        device (str, optional): See :func:`time_interleaved`. Defaults to None.

    Returns:
        float: The best wall seconds.
    """

    def fwd_bwd():
        sum(out.square().mean() for out in module(inputs)).backward()

    return time_call(fwd_bwd, repeats, warmup=1, device=device).best
