"""The paper's Table 1: KEM and sKEM on Sort-of-CLEVR, balanced and long-tailed training sets.

Trains every row (no module as the control, cross-attention, KEM, sKEM 'feature', sKEM
'task_axis') on the balanced and the long-tailed training set over the seeds, one process per core,
tests on the balanced test split (as generated and with shuffled question colours), and writes the
tables (mean +- std over seeds next to the paper's; per question type; per asked colour) to
<work-dir>/table1.md and table1.json. Finished runs are kept in <work-dir>/runs/: running the same
command again resumes.

    python tools/experiments/sort_of_clevr.py                   # default size, seeds 0 1 2
    python tools/experiments/sort_of_clevr.py --full            # 9,800 images, 20,000 steps
    python tools/experiments/sort_of_clevr.py --seeds 0 --methods KEM 'sKEM (task_axis)'

The generated data are cached under --data-root and shared by all runs; the seeds change the
model's initialisation and the order of the training samples, not the data.
"""

import argparse
import os.path as osp
import sys

# Find mmkem from a source checkout without PYTHONPATH or `pip install -e .`.
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mmkem.experiments.sort_of_clevr import METHODS, SMALL, run_table1  # noqa: E402

CONFIG_DIR = osp.join(REPO, 'configs', 'sort_of_clevr')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2], help='training seeds')
    parser.add_argument(
        '--full', action='store_true',
        help="the configs' size and schedule (9,800 images, 20,000 steps), not 3,000 / 4,000",
    )  # fmt: skip
    parser.add_argument(
        '--methods', nargs='+', choices=[m for m, _, _ in METHODS], help='rows to run (all)'
    )
    parser.add_argument('--train-images', type=int, help='override the number of training images')
    parser.add_argument('--test-images', type=int, help='override the number of test images')
    parser.add_argument('--iters', type=int, help='override the training iterations')
    parser.add_argument(
        '--train-questions', type=int, dest='train_questions_per_family',
        help='override the training questions per family and image',
    )  # fmt: skip
    parser.add_argument('--batch-size', type=int, help='override the images per training step')
    parser.add_argument(
        '--long-tail-target', choices=('colour', 'subtype'), default='colour',
        help='what the long-tailed training set skews',
    )  # fmt: skip
    parser.add_argument('--exponent', type=float, default=2.0, help='power-law exponent')
    parser.add_argument('--data-root', default=osp.join(REPO, 'data', 'sort_of_clevr'))
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'sort_of_clevr'))
    parser.add_argument('--jobs', type=int, default=2, help='runs at the same time (processes)')
    parser.add_argument('--threads', type=int, default=1, help='torch threads per run')
    parser.add_argument(
        '--report-only', action='store_true',
        help='write the tables from the runs already in <work-dir>/runs, train nothing',
    )  # fmt: skip
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    size = {} if args.full else dict(SMALL)
    for key in ('train_images', 'test_images', 'iters', 'train_questions_per_family'):
        if getattr(args, key) is not None:
            size[key] = getattr(args, key)
    result = run_table1(
        CONFIG_DIR, args.seeds, size, args.data_root, args.work_dir, methods=args.methods,
        jobs=args.jobs, threads=args.threads, long_tail_target=args.long_tail_target,
        exponent=args.exponent, batch_size=args.batch_size,
        train=not args.report_only,
        command='python ' + ' '.join([osp.relpath(__file__, REPO)] + sys.argv[1:]),
        log=lambda line: print(line, flush=True),
    )  # fmt: skip
    print(result['header'] + '\n\n' + result['table'])
    print(f'written to {osp.join(args.work_dir, "table1.md")} and table1.json')


if __name__ == '__main__':
    main()
