"""The boundary benchmark (odsF, oisF, AP) on a folder of saved edge predictions, without MATLAB.

python tools/analysis/eval_edges.py CONFIG PRED_DIR [--split test] [--task edge]
    [--max-dist 0.011] [--thresholds 101 | --thresholds 0.1 0.5 ...] [--no-nms] [--no-thin]
    [--no-quantize] [--gt seism|dataset] [--workers N] [--limit N] [--out-json FILE]
    [--out-png FILE] [--cfg-options key=value ...]

PRED_DIR is what ``tools/test.py CONFIG CKPT --out PRED_DIR`` writes: ``PRED_DIR/<task>/<image
stem>.png`` (uint8 ``round(p * 255)``; the exact ``.npy`` next to it is preferred). The ground
truth comes from the config's ``<split>_dataloader`` dataset; ``--gt seism`` (default) reads it as
SEISM does (``seg2bmap`` of PASCAL-Context's ``LabelMap`` / of NYUD-v2's edge maps). The protocol
is SEISM's (docs/metrics.md): Dollar's NMS, the 101 thresholds, ``> t``, ``bwmorph`` thinning,
BSDS bipartite matching within ``--max-dist`` of the diagonal (0.0075 PASCAL-Context, 0.011
NYUD-v2). Prints the metrics and writes a JSON (metrics, settings, PR curve, per-image counts) and
the PR curve as a PNG (default: next to PRED_DIR's task folder).
"""

import argparse
import os
import os.path as osp
import sys

# Find mmkem from a source checkout without PYTHONPATH or `pip install -e .`.
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import mmkem  # noqa: E402,F401  (registers mmkem's modules)
from mmkem.analysis.eval_edges import (  # noqa: E402
    evaluate_edge_folder,
    plot_pr_curve,
    write_results,
)
from mmkem.apis import add_common_args, clear_errors, load_config  # noqa: E402
from mmkem.evaluation.functional import BENCHMARK_EDGE_THRESHOLDS  # noqa: E402


def _thresholds(values):
    if len(values) == 1 and float(values[0]).is_integer() and float(values[0]) >= 1:
        return int(float(values[0]))
    return [float(v) for v in values]


def parse_args():
    parser = argparse.ArgumentParser(description='Boundary benchmark of saved edge predictions')
    parser.add_argument('config', help='config file path (its dataset gives the ground truth)')
    parser.add_argument('pred_dir', help='the --out folder of tools/test.py (holds <task>/)')
    parser.add_argument('--split', default='test', help='<split>_dataloader (default: test)')
    parser.add_argument('--task', default='edge', help='the edge task (default: edge)')
    parser.add_argument(
        '--max-dist',
        type=float,
        default=0.0075,
        help='matching tolerance, fraction of the image diagonal (0.0075 PASCAL-Context, '
        '0.011 NYUD-v2; default 0.0075)',
    )
    parser.add_argument(
        '--thresholds',
        nargs='+',
        default=['101'],
        help='a count K (K evenly spaced; 101 = the benchmark list 0.001, 0.01, ..., 0.99, '
        '0.999) or the values (default: 101, the benchmark list)',
    )
    parser.add_argument('--no-nms', action='store_true', help='skip the NMS')
    parser.add_argument('--no-thin', action='store_true', help='skip the thinning')
    parser.add_argument(
        '--no-quantize', action='store_true', help='keep the map off the 1/255 grid of PNGs'
    )
    parser.add_argument(
        '--gt',
        choices=('seism', 'dataset'),
        default='seism',
        help='ground truth as SEISM reads it (default) or as the dataset decodes it',
    )
    parser.add_argument(
        '--workers',
        type=int,
        default=os.cpu_count() or 1,
        help='processes; 0 evaluates in this process (default: the CPU count)',
    )
    parser.add_argument('--limit', type=int, help='evaluate only the first N images')
    parser.add_argument('--out-json', help='JSON file (default: PRED_DIR/<task>_benchmark.json)')
    parser.add_argument('--out-png', help='PR curve (default: PRED_DIR/<task>_pr_curve.png)')
    add_common_args(parser)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    thresholds = _thresholds(args.thresholds)
    if thresholds == 101:
        thresholds = BENCHMARK_EDGE_THRESHOLDS
    with clear_errors():
        cfg = load_config(args)
        result = evaluate_edge_folder(
            cfg,
            args.pred_dir,
            split=args.split,
            task=args.task,
            gt=args.gt,
            thresholds=thresholds,
            max_dist=args.max_dist,
            nms=not args.no_nms,
            apply_thin=not args.no_thin,
            quantize=not args.no_quantize,
            workers=args.workers,
            limit=args.limit,
        )
    out_json = args.out_json or osp.join(args.pred_dir, f'{args.task}_benchmark.json')
    out_png = args.out_png or osp.join(args.pred_dir, f'{args.task}_pr_curve.png')
    write_results(result, out_json)
    plot_pr_curve(result, out_png, label=args.task)
    m, s = result['metrics'], result['settings']
    note = '' if s['protocol'] == 'benchmark' else '  (NOT the benchmark protocol)'
    print(
        f'{args.task}: odsF {m["odsF"]:.2f}  oisF {m["oisF"]:.2f}  AP {m["AP"]:.2f}  '
        f'(ODS threshold {m["ods_threshold"]:.3f}, P {m["ods_precision"]:.2f}, '
        f'R {m["ods_recall"]:.2f}; {result["num_images"]} images, max_dist {s["max_dist"]}, '
        f'{s["num_thresholds"]} thresholds){note}'
    )
    print(f'wrote {out_json} and {out_png}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
