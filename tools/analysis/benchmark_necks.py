"""Time KEM, SKEM (both readings), the cross-attention baseline and a plain copy over n_s and d.

For every (module, n_s, d) of the grid: forward and forward+backward wall time (best of several
runs: on a shared machine the minimum is the stable estimate of the cost), peak memory allocated
above the inputs during forward+backward (from the profiler's allocator events), and analytical
forward FLOPs (the paper's count and the one the implementation actually does). Prints a table,
writes ``results.json`` and ``necks_loglog.png`` to ``--out`` and fits the time exponent in n_s
(forward+backward) per module and d.

The default grid (n_s 1k..8k, d 256 and 768, baseline up to 4k) runs on a shared 2-core CPU in a
few minutes; the issue's full grid is::

    python tools/analysis/benchmark_necks.py --ns 1024 2048 4096 8192 16384 32768 --dims 768 \
        --batch 2 --baseline-max-ns 32768 --out work_dirs/benchmark_necks

(docs/necks.md reports it with ``--threads 1 --baseline-max-ns 8192``).
"""

import argparse
import json
import math
import os
import os.path as osp
import platform
import tempfile
import time
from datetime import datetime, timezone

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from mmkem.models.interactions import KEM, SKEM, TaskCrossAttention

MODULES = ('copy', 'kem', 'skem_task_axis', 'skem_feature', 'cross_attention')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--ns',
        type=int,
        nargs='+',
        default=[1024, 2048, 4096, 8192],
        help='total token counts n_s = num_tasks * H * W',
    )
    parser.add_argument('--dims', type=int, nargs='+', default=[256, 768], help='channels d')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--num-tasks', type=int, default=2)
    parser.add_argument('--num-slots', type=int, default=20)
    parser.add_argument('--topk', type=int, default=3)
    parser.add_argument('--num-heads', type=int, default=1)
    parser.add_argument(
        '--num-vertices', type=int, default=8, help="ETF vertices of SKEM's 'feature' reading"
    )
    parser.add_argument('--modules', nargs='+', default=list(MODULES), choices=MODULES)
    parser.add_argument('--repeats', type=int, default=3, help='minimum timed runs (best kept)')
    parser.add_argument(
        '--baseline-max-ns',
        type=int,
        default=4096,
        help='skip cross-attention above this n_s (quadratic: ~25 s per call at 8192, d=768)',
    )
    parser.add_argument('--baseline-repeats', type=int, default=1)
    parser.add_argument('--threads', type=int, default=None, help='torch.set_num_threads')
    parser.add_argument('--no-memory', action='store_true', help='skip the peak-memory runs')
    parser.add_argument('--out', default='work_dirs/benchmark_necks')
    return parser.parse_args()


def spatial(n_s, num_tasks):
    """(H, W) with num_tasks * H * W = n_s, as square as possible."""
    m = n_s // num_tasks
    if m * num_tasks != n_s:
        raise ValueError(f'--ns {n_s} is not a multiple of --num-tasks {num_tasks}')
    h = max(d for d in range(1, int(math.isqrt(m)) + 1) if m % d == 0)
    return h, m // h


class Copy(torch.nn.Module):
    """The reference: a copy of the input maps (what a bandwidth-bound neck is measured against)."""

    def forward(self, feats):
        return [feat.clone() for feat in feats]


def build(name, d, args):
    common = dict(in_channels=d, num_tasks=args.num_tasks)
    kem = dict(num_slots=args.num_slots, topk=args.topk, num_heads=args.num_heads)
    if name == 'copy':
        return Copy()
    if name == 'kem':
        return KEM(**common, **kem)
    if name == 'skem_task_axis':
        return SKEM(**common, **kem, etf_mode='task_axis')
    if name == 'skem_feature':
        return SKEM(**common, **kem, etf_mode='feature', num_vertices=args.num_vertices)
    return TaskCrossAttention(**common, num_heads=args.num_heads)


def flops(name, n_s, d, args):
    """Analytical forward FLOPs (2 per multiply-add) for the whole batch: (paper, actual)."""
    b, slots, k, heads = args.batch, args.num_slots, args.topk, args.num_heads
    paper_kem = 4 * slots * n_s * d + 3 * n_s * d * d + 3 * slots * d * d
    paper_ca = 2 * n_s * n_s * d + 3 * n_s * d * d
    # fast form: retrieve logits, write logits and the (block-diagonal) output over all tokens;
    # slot side: R W_qr, the two folds, values of the L*k selected tokens, W_kw, W_vw
    kem = 3 * n_s * d * heads * slots + slots * d * d * (5 + k)
    if name == 'copy':
        return 0, 0
    if name == 'cross_attention':
        return 2 * b * paper_ca, 2 * b * paper_ca
    if name == 'skem_task_axis':
        kem += args.num_tasks * n_s * heads * slots
    if name == 'skem_feature':
        kv = args.num_vertices
        kem += n_s * d * heads * kv + n_s * heads * slots * kv - n_s * d * heads * slots
    return 2 * b * paper_kem, 2 * b * kem


def timed(fn, repeats, min_total_s=0.5, max_runs=30):
    """Best wall time of at least ``repeats`` runs, more (up to ``max_runs``) for fast calls."""
    fn()  # warm-up
    times = []
    while len(times) < repeats or (sum(times) < min_total_s and len(times) < max_runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(min(times))


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


def run_one(name, n_s, d, args):
    h, w = spatial(n_s, args.num_tasks)
    torch.manual_seed(0)
    module = build(name, d, args)
    feats = [torch.randn(args.batch, d, h, w, requires_grad=True) for _ in range(args.num_tasks)]
    grads = [torch.randn(args.batch, d, h, w) for _ in range(args.num_tasks)]

    def forward():
        with torch.no_grad():
            module(feats)

    def forward_backward():
        outs = module(feats)
        torch.autograd.backward(outs, grads)
        for feat in feats:
            feat.grad = None
        module.zero_grad(set_to_none=True)

    repeats = args.baseline_repeats if name == 'cross_attention' else args.repeats
    result = dict(module=name, n_s=n_s, d=d, batch=args.batch, spatial=[h, w])
    result['fwd_s'] = timed(forward, repeats)
    result['fwd_bwd_s'] = timed(forward_backward, repeats)
    result['peak_mem_mb'] = float('nan') if args.no_memory else peak_memory_mb(forward_backward)
    result['input_mb'] = args.num_tasks * args.batch * d * h * w * 4 / 2**20
    result['flops_paper'], result['flops_actual'] = flops(name, n_s, d, args)
    return result


def fit_exponents(results, modules, dims):
    fits = {}
    for name in modules:
        for d in dims:
            rows = [r for r in results if r['module'] == name and r['d'] == d]
            if len(rows) >= 2:
                x = np.log([r['n_s'] for r in rows])
                y = np.log([r['fwd_bwd_s'] for r in rows])
                fits[f'{name}@d={d}'] = float(np.polyfit(x, y, 1)[0])
    return fits


def plot(results, modules, dims, path):
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


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    results = []
    header = (
        f'{"module":<16}{"n_s":>7}{"d":>5}{"fwd ms":>10}{"fwd+bwd ms":>12}{"peak MB":>9}'
        f'{"in MB":>7}{"GFLOP paper":>12}{"GFLOP actual":>13}'
    )
    print(header)
    for d in args.dims:
        for n_s in args.ns:
            for name in args.modules:
                if name == 'cross_attention' and n_s > args.baseline_max_ns:
                    continue
                r = run_one(name, n_s, d, args)
                results.append(r)
                print(
                    f'{name:<16}{n_s:>7}{d:>5}{r["fwd_s"] * 1e3:>10.1f}'
                    f'{r["fwd_bwd_s"] * 1e3:>12.1f}{r["peak_mem_mb"]:>9.1f}{r["input_mb"]:>7.1f}'
                    f'{r["flops_paper"] / 1e9:>12.2f}{r["flops_actual"] / 1e9:>13.2f}',
                    flush=True,
                )
    fits = fit_exponents(results, args.modules, args.dims)
    print('\ntime exponent in n_s (fwd+bwd, log-log fit):')
    for key, value in fits.items():
        print(f'  {key:<28}{value:6.2f}')
    print('\nratios at each size (fwd+bwd): cross_attention / kem, kem fwd / copy fwd')
    ratios = []
    for d in args.dims:
        for n_s in args.ns:
            get = {r['module']: r for r in results if r['n_s'] == n_s and r['d'] == d}
            row = dict(n_s=n_s, d=d)
            if 'kem' in get and 'cross_attention' in get:
                row['ca_over_kem'] = get['cross_attention']['fwd_bwd_s'] / get['kem']['fwd_bwd_s']
                if not args.no_memory:
                    row['kem_mem_below_ca'] = (
                        get['kem']['peak_mem_mb'] < get['cross_attention']['peak_mem_mb']
                    )
            if 'kem' in get and 'copy' in get:
                row['kem_fwd_over_copy'] = get['kem']['fwd_s'] / get['copy']['fwd_s']
            ratios.append(row)
            print(
                '  '
                + ', '.join(
                    f'{k}={v:.2f}' if isinstance(v, float) else f'{k}={v}' for k, v in row.items()
                )
            )
    meta = dict(
        date=datetime.now(timezone.utc).isoformat(timespec='seconds'),
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        cpu=platform.processor() or platform.machine(),
        cpu_count=os.cpu_count(),
        args=vars(args),
    )
    with open(osp.join(args.out, 'results.json'), 'w') as f:
        json.dump(dict(meta=meta, results=results, exponents=fits, ratios=ratios), f, indent=1)
    plot(results, args.modules, args.dims, osp.join(args.out, 'necks_loglog.png'))
    print(f'\nwrote {osp.join(args.out, "results.json")} and necks_loglog.png')


if __name__ == '__main__':
    main()
