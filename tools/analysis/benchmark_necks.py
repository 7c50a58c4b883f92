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

(docs/interactions.md reports it with ``--threads 1 --baseline-max-ns 8192``).
"""

import argparse
import os
import os.path as osp
import sys

# Find mmkem from a source checkout without PYTHONPATH or `pip install -e .`.
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402

from mmkem.analysis.neck_benchmark import (  # noqa: E402
    HEADER,
    MODULES,
    NeckBenchmarkSettings,
    fit_exponents,
    format_ratios,
    plot,
    ratios_at_each_size,
    run_benchmark,
    write_results,
)


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
    parser.add_argument('--device', default='cpu', help="'cpu' (default) or 'cuda'")
    parser.add_argument('--out', default='work_dirs/benchmark_necks')
    return parser.parse_args()


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    settings = NeckBenchmarkSettings(
        batch=args.batch, num_tasks=args.num_tasks, num_slots=args.num_slots, topk=args.topk,
        num_heads=args.num_heads, num_vertices=args.num_vertices, repeats=args.repeats,
        baseline_repeats=args.baseline_repeats, memory=not args.no_memory, device=args.device,
    )  # fmt: skip
    print(HEADER)
    results = run_benchmark(
        args.ns, args.dims, args.modules, args.baseline_max_ns, settings,
        log=lambda line: print(line, flush=True),
    )  # fmt: skip
    fits = fit_exponents(results, args.modules, args.dims)
    print('\ntime exponent in n_s (fwd+bwd, log-log fit):')
    for key, value in fits.items():
        print(f'  {key:<28}{value:6.2f}')
    print(
        '\nratios at each size: cross_attention / kem (fwd+bwd), kem fwd / copy fwd, '
        'kem fwd GFLOP/s'
    )
    ratios = ratios_at_each_size(results, args.ns, args.dims, memory=not args.no_memory)
    for row in ratios:
        print('  ' + format_ratios(row))
    write_results(osp.join(args.out, 'results.json'), results, fits, ratios, vars(args))
    plot(results, args.modules, args.dims, osp.join(args.out, 'necks_loglog.png'))
    print(f'\nwrote {osp.join(args.out, "results.json")} and necks_loglog.png')


if __name__ == '__main__':
    main()
