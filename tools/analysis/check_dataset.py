"""Check every sample of a config's datasets before a long run.

python tools/analysis/check_dataset.py CONFIG [--split train val] [--workers N]
    [--cfg-options key=value ...]

Reads each sample of each split through the config's own loading transforms, in parallel with a
progress bar, and prints one line per problem naming the file (missing or unreadable files, sizes
that differ from the image's, label ids out of range, depth that is not finite, negative or not
in metres, normals that are not RGB / not unit length / all invalid, edge or saliency maps that are
not binary), then a summary per kind of problem. Exits 1 when anything is wrong, 0 on clean data.
``tools/train.py --check-data`` runs the same check first. See docs/troubleshooting.md.
"""

import argparse
import os
import os.path as osp
import sys

# Find mmkem from a source checkout without PYTHONPATH or `pip install -e .`.
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import mmkem  # noqa: E402,F401  (registers mmkem's modules)
from mmkem.analysis.check_dataset import check_config  # noqa: E402
from mmkem.apis import add_common_args, clear_errors, load_config  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description="Check every sample of a config's datasets")
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--split',
        nargs='+',
        default=['train', 'val'],
        help='the splits to check: the datasets of <split>_dataloader (default: train val)',
    )
    parser.add_argument(
        '--workers',
        type=int,
        default=min(8, os.cpu_count() or 1),
        help='processes that read samples in parallel; 0 reads in this process '
        '(default: the CPU count, at most 8)',
    )
    add_common_args(parser)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    with clear_errors():
        cfg = load_config(args)
        report = check_config(cfg, args.split, workers=args.workers)
    for problem in report.problems:
        print(problem.line())
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == '__main__':
    sys.exit(main())
