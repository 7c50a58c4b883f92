"""Speed of the boundary benchmark: mmkem's against pyEdgeEval's, same images, same processes.

python tools/analysis/benchmark_edges.py [--images 8] [--reference-images 2] [--processes N]
    [--size 480 640] [--max-dist 0.011] [--no-reference] [--out work_dirs/benchmark_edges]

The full protocol (Dollar's NMS, the 101 thresholds, thinning, BSDS matching within 0.011 of the
diagonal: NYUD-v2's setting) on synthetic 480x640 edge maps, over ``--processes`` worker
processes (default: every CPU core). Prints a markdown table (images per second, seconds per
image, the time a 654-image NYUD-v2 val set takes) and how far the two implementations' counts
and scores differ, and writes ``results.json`` to ``--out``. pyEdgeEval is the test-only
reference (``requirements/tests.txt``); without it only mmkem's row is measured. Timed runs on a
shared machine: wrap in ``flock /tmp/mmkem-bench.lock``.
"""

import argparse
import json
import os
import os.path as osp
import sys
import time

# Find mmkem from a source checkout without PYTHONPATH or `pip install -e .`.
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmkem.analysis.edge_benchmark import format_table, run_edge_benchmark  # noqa: E402
from mmkem.analysis.machine import cpu_name  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Speed of the boundary benchmark')
    parser.add_argument('--images', type=int, default=8, help='images for mmkem (default 8)')
    parser.add_argument(
        '--reference-images',
        type=int,
        default=2,
        help='the first N of them for pyEdgeEval, which is much slower (default 2)',
    )
    parser.add_argument(
        '--processes',
        type=int,
        default=os.cpu_count() or 1,
        help='worker processes of each run (default: the CPU count)',
    )
    parser.add_argument('--size', type=int, nargs=2, default=(480, 640), metavar=('H', 'W'))
    parser.add_argument('--max-dist', type=float, default=0.011, help="NYUD-v2's 0.011")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--no-reference', action='store_true', help='skip pyEdgeEval')
    parser.add_argument('--out', default='work_dirs/benchmark_edges', help='folder of results.json')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    result = run_edge_benchmark(
        images=args.images,
        reference_images=args.reference_images,
        processes=args.processes,
        size=tuple(args.size),
        max_dist=args.max_dist,
        seed=args.seed,
        reference=not args.no_reference,
    )
    result['machine'] = f'{cpu_name()} ({os.cpu_count()} cores)'
    result['date'] = time.strftime('%Y-%m-%d')
    result['settings'] = vars(args)
    print(
        f'{result["machine"]}, {result["date"]}, {args.size[0]}x{args.size[1]}, max_dist '
        f'{args.max_dist}, 101 thresholds, NMS and thinning on\n'
    )
    print(format_table(result))
    os.makedirs(args.out, exist_ok=True)
    path = osp.join(args.out, 'results.json')
    with open(path, 'w') as f:
        json.dump(result, f, indent=1, default=float)
    print(f'\nwrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
