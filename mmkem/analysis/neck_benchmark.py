"""Time KEM, SKEM (both readings), the cross-attention baseline and a plain copy over n_s and d.

For every (module, n_s, d) of a grid: forward and forward+backward wall time (best of several
runs, :func:`~mmkem.analysis.timing.time_call`: on a shared machine the minimum is the stable
estimate of the cost), peak memory allocated above the inputs during forward+backward (from the
profiler's allocator events), and analytical forward FLOPs (the paper's count and the one the
implementation actually does); then the time exponent in n_s per module and d (log-log fit), the
ratios at each size and a log-log plot.

The command line is ``tools/analysis/benchmark_necks.py`` (docs/interactions.md).
"""

import json
import math
import os
import os.path as osp
import platform
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from mmkem.models.interactions import KEM, SKEM, TaskCrossAttention

from .timing import time_call

__all__ = [
    'HEADER',
    'MODULES',
    'Copy',
    'cuda_peak_memory_mb',
    'NeckBenchmarkSettings',
    'build',
    'fit_exponents',
    'flops',
    'format_ratios',
    'format_row',
    'peak_memory_mb',
    'plot',
    'ratios_at_each_size',
    'run_benchmark',
    'run_one',
    'spatial',
    'timed',
    'write_results',
]

MODULES = ('copy', 'kem', 'skem_task_axis', 'skem_feature', 'cross_attention')
HEADER = (
    f'{"module":<16}{"n_s":>7}{"d":>5}{"fwd ms":>10}{"fwd+bwd ms":>12}{"peak MB":>9}'
    f'{"in MB":>7}{"GFLOP paper":>12}{"GFLOP actual":>13}'
)


@dataclass
class NeckBenchmarkSettings:
    """The modules' sizes and the repeats (the options of ``tools/analysis/benchmark_necks.py``).

    Args:
        batch (int): Batch size. Defaults to 2.
        num_tasks (int): Tasks (token maps). Defaults to 2.
        num_slots (int): KEM's ``L``. Defaults to 20.
        topk (int): KEM's ``k``. Defaults to 3.
        num_heads (int): Attention heads. Defaults to 1.
        num_vertices (int): ETF vertices of SKEM's ``'feature'`` reading. Defaults to 8.
        repeats (int): Minimum timed runs, best kept. Defaults to 3.
        baseline_repeats (int): The same for cross-attention. Defaults to 1.
        memory (bool): Measure the peak memory (a profiled extra run on CPU, the allocator's
            peak on CUDA). Defaults to True.
        device (str): Where the modules run, ``'cpu'`` or ``'cuda'``. Defaults to ``'cpu'``.
    """

    batch: int = 2
    num_tasks: int = 2
    num_slots: int = 20
    topk: int = 3
    num_heads: int = 1
    num_vertices: int = 8
    repeats: int = 3
    baseline_repeats: int = 1
    memory: bool = True
    device: str = 'cpu'


def spatial(n_s, num_tasks):
    """(H, W) with num_tasks * H * W = n_s, as square as possible."""
    m = n_s // num_tasks
    if m * num_tasks != n_s:
        raise ValueError(f'--ns {n_s} is not a multiple of --num-tasks {num_tasks}')
    h = max(d for d in range(1, int(math.isqrt(m)) + 1) if m % d == 0)
    return h, m // h


class Copy(torch.nn.Module):
    """The reference: a copy of the input maps (what a bandwidth-bound neck is measured against).

    Without autograd (the forward timing) the maps are copied into buffers allocated on the first
    call, so the reference pays for reading and writing the maps only, not for fresh pages of a
    new allocation; with autograd it returns clones.
    """

    def __init__(self) -> None:
        super().__init__()
        self._buffers_out: List[torch.Tensor] = []

    def forward(self, feats):
        if torch.is_grad_enabled():
            return [feat.clone() for feat in feats]
        if [b.shape for b in self._buffers_out] != [f.shape for f in feats]:
            self._buffers_out = [torch.empty_like(f) for f in feats]
        return [buf.copy_(feat) for buf, feat in zip(self._buffers_out, feats)]


def build(name, d, settings: NeckBenchmarkSettings):
    """The module ``name`` (one of :data:`MODULES`) at ``d`` channels."""
    common = dict(in_channels=d, num_tasks=settings.num_tasks)
    kem = dict(num_slots=settings.num_slots, topk=settings.topk, num_heads=settings.num_heads)
    if name == 'copy':
        return Copy()
    if name == 'kem':
        return KEM(**common, **kem)
    if name == 'skem_task_axis':
        return SKEM(**common, **kem, etf_mode='task_axis')
    if name == 'skem_feature':
        return SKEM(**common, **kem, etf_mode='feature', num_vertices=settings.num_vertices)
    return TaskCrossAttention(**common, num_heads=settings.num_heads)


def flops(name, n_s, d, settings: NeckBenchmarkSettings):
    """Analytical forward FLOPs (2 per multiply-add) for the whole batch: (paper, actual)."""
    b, slots, heads = settings.batch, settings.num_slots, settings.num_heads
    paper_kem = 4 * slots * n_s * d + 3 * n_s * d * d + 3 * slots * d * d
    paper_ca = 2 * n_s * n_s * d + 3 * n_s * d * d
    # fast form: retrieve logits, write logits and the (block-diagonal) output over all tokens;
    # slot side: R W_qr, the two folds, W_vr on the weighted selected tokens, W_kw, W_vw
    kem = 3 * n_s * d * heads * slots + 6 * slots * d * d
    if name == 'copy':
        return 0, 0
    if name == 'cross_attention':
        return 2 * b * paper_ca, 2 * b * paper_ca
    if name == 'skem_task_axis':
        kem += settings.num_tasks * n_s * heads * slots
    if name == 'skem_feature':
        kv = settings.num_vertices
        kem += n_s * d * heads * kv + n_s * heads * slots * kv - n_s * d * heads * slots
    return 2 * b * paper_kem, 2 * b * kem


def timed(fn, repeats, min_total_s=0.5, max_runs=30, device=None):
    """Best wall time of at least ``repeats`` runs, more (up to ``max_runs``) for fast calls."""
    timings = time_call(
        fn, repeats, warmup=1, device=device, min_total_s=min_total_s, max_runs=max_runs
    )
    return float(timings.best)


def cuda_peak_memory_mb(fn, device):
    """Peak bytes allocated on a CUDA ``device`` above the starting point while ``fn`` runs."""
    torch.cuda.synchronize(device)
    start = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    torch.cuda.synchronize(device)
    return (torch.cuda.max_memory_allocated(device) - start) / 2**20


def peak_memory_mb(fn):
    """Peak bytes allocated above the starting point while ``fn`` runs (CPU allocator events)."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'trace.json')
        prof.export_chrome_trace(path)
        with open(path) as f:
            events = json.load(f)['traceEvents']
    mem = [e['args'] for e in events if e.get('name') == '[memory]']
    if not mem:
        return float('nan')
    start = mem[0]['Total Allocated'] - mem[0]['Bytes']
    return (max(m['Total Allocated'] for m in mem) - start) / 2**20


def run_one(name, n_s, d, settings: NeckBenchmarkSettings) -> dict:
    """Time and measure one module at one size: the entries of ``results.json``'s results."""
    h, w = spatial(n_s, settings.num_tasks)
    batch, num_tasks = settings.batch, settings.num_tasks
    device = settings.device
    torch.manual_seed(0)
    module = build(name, d, settings).to(device)
    feats = [
        torch.randn(batch, d, h, w, device=device, requires_grad=True) for _ in range(num_tasks)
    ]
    grads = [torch.randn(batch, d, h, w, device=device) for _ in range(num_tasks)]

    def forward():
        with torch.no_grad():
            module(feats)

    def forward_backward():
        outs = module(feats)
        torch.autograd.backward(outs, grads)
        for feat in feats:
            feat.grad = None
        module.zero_grad(set_to_none=True)

    repeats = settings.baseline_repeats if name == 'cross_attention' else settings.repeats
    result = dict(module=name, n_s=n_s, d=d, batch=batch, spatial=[h, w])
    sync = device if device.startswith('cuda') else None
    result['fwd_s'] = timed(forward, repeats, device=sync)
    result['fwd_bwd_s'] = timed(forward_backward, repeats, device=sync)
    if not settings.memory:
        result['peak_mem_mb'] = float('nan')
    elif sync:
        result['peak_mem_mb'] = cuda_peak_memory_mb(forward_backward, device)
    else:
        result['peak_mem_mb'] = peak_memory_mb(forward_backward)
    result['input_mb'] = num_tasks * batch * d * h * w * 4 / 2**20
    result['flops_paper'], result['flops_actual'] = flops(name, n_s, d, settings)
    result['fwd_gflops_per_s'] = result['flops_actual'] / result['fwd_s'] / 1e9
    return result


def format_row(r: dict) -> str:
    """One result as a line under :data:`HEADER`."""
    return (
        f'{r["module"]:<16}{r["n_s"]:>7}{r["d"]:>5}{r["fwd_s"] * 1e3:>10.1f}'
        f'{r["fwd_bwd_s"] * 1e3:>12.1f}{r["peak_mem_mb"]:>9.1f}{r["input_mb"]:>7.1f}'
        f'{r["flops_paper"] / 1e9:>12.2f}{r["flops_actual"] / 1e9:>13.2f}'
    )


def run_benchmark(
    ns: Sequence[int],
    dims: Sequence[int],
    modules: Sequence[str],
    baseline_max_ns: int,
    settings: NeckBenchmarkSettings,
    log: Optional[Callable[[str], None]] = None,
) -> List[dict]:
    """:func:`run_one` over the grid (cross-attention only up to ``baseline_max_ns``).

    Args:
        ns (Sequence[int]): Total token counts ``n_s = num_tasks * H * W``.
        dims (Sequence[int]): Channels ``d``.
        modules (Sequence[str]): Names from :data:`MODULES`.
        baseline_max_ns (int): Cross-attention is skipped above this ``n_s`` (quadratic).
        settings (NeckBenchmarkSettings): Sizes and repeats.
        log (callable, optional): Called with :func:`format_row` of each result. Defaults to None.

    Returns:
        list[dict]: The results, ``d`` slowest, then ``n_s``, then the module.
    """
    results = []
    for d in dims:
        for n_s in ns:
            for name in modules:
                if name == 'cross_attention' and n_s > baseline_max_ns:
                    continue
                results.append(run_one(name, n_s, d, settings))
                if log is not None:
                    log(format_row(results[-1]))
    return results


def fit_exponents(results, modules, dims) -> Dict[str, float]:
    """The slope of log(fwd+bwd time) over log(n_s) per ``'<module>@d=<d>'`` (2+ sizes)."""
    fits = {}
    for name in modules:
        for d in dims:
            rows = [r for r in results if r['module'] == name and r['d'] == d]
            if len(rows) >= 2:
                x = np.log([r['n_s'] for r in rows])
                y = np.log([r['fwd_bwd_s'] for r in rows])
                fits[f'{name}@d={d}'] = float(np.polyfit(x, y, 1)[0])
    return fits


def ratios_at_each_size(results, ns, dims, memory: bool = True) -> List[dict]:
    """Per (n_s, d): cross_attention / kem (fwd+bwd), kem fwd / copy fwd, the GFLOP/s of KEM's
    forward (its actual FLOPs over its time), and whether KEM's peak memory is below
    cross-attention's (with ``memory``), where measured."""
    ratios = []
    for d in dims:
        for n_s in ns:
            get = {r['module']: r for r in results if r['n_s'] == n_s and r['d'] == d}
            row = dict(n_s=n_s, d=d)
            if 'kem' in get and 'cross_attention' in get:
                row['ca_over_kem'] = get['cross_attention']['fwd_bwd_s'] / get['kem']['fwd_bwd_s']
                if memory:
                    row['kem_mem_below_ca'] = (
                        get['kem']['peak_mem_mb'] < get['cross_attention']['peak_mem_mb']
                    )
            if 'kem' in get and 'copy' in get:
                row['kem_fwd_over_copy'] = get['kem']['fwd_s'] / get['copy']['fwd_s']
            if 'kem' in get:
                row['kem_fwd_gflops_per_s'] = get['kem']['fwd_gflops_per_s']
            ratios.append(row)
    return ratios


def format_ratios(row: dict) -> str:
    """One entry of :func:`ratios_at_each_size` as ``key=value, ...`` (floats to 2 decimals)."""
    return ', '.join(f'{k}={v:.2f}' if isinstance(v, float) else f'{k}={v}' for k, v in row.items())


def plot(results, modules, dims, path):
    """Log-log fwd and fwd+bwd time over n_s, one panel per ``d``, saved to ``path``."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(dims), figsize=(5.5 * len(dims), 4.2), squeeze=False)
    for ax, d in zip(axes[0], dims):
        for name in modules:
            rows = [r for r in results if r['module'] == name and r['d'] == d]
            if rows:
                ns = [r['n_s'] for r in rows]
                ax.loglog(ns, [r['fwd_bwd_s'] for r in rows], 'o-', label=f'{name} fwd+bwd')
                ax.loglog(ns, [r['fwd_s'] for r in rows], 'x--', alpha=0.5, label=f'{name} fwd')
        ax.set_xlabel('n_s (tokens of all tasks)')
        ax.set_ylabel('seconds')
        ax.set_title(f'd = {d}')
        ax.grid(True, which='both', alpha=0.3)
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def write_results(path: str, results, fits, ratios, args: dict) -> None:
    """Write ``results.json``: the machine and the date (``meta``, with the command's ``args``),
    the results, the exponents and the ratios."""
    device = args.get('device') or 'cpu'
    meta = dict(
        date=datetime.now(timezone.utc).isoformat(timespec='seconds'),
        torch=torch.__version__,
        device=torch.cuda.get_device_name(device) if device.startswith('cuda') else 'cpu',
        threads=torch.get_num_threads(),
        cpu=platform.processor() or platform.machine(),
        cpu_count=os.cpu_count(),
        args=args,
    )
    with open(path, 'w') as f:
        json.dump(dict(meta=meta, results=results, exponents=fits, ratios=ratios), f, indent=1)
