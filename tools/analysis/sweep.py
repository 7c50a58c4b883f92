"""Train a config over a grid of ``--cfg-options`` values and seeds; tabulate the final metrics.

This is how the paper's Tables 4 (random seeds), 5 (memory slots L) and 7 (top-k K) are made::

    python tools/analysis/sweep.py configs/demo/kem_effnet-lite0_nyud-demo.py \
        --grid model.interaction.num_slots=5,10,20 --grid model.interaction.topk=1,3 --seeds 0 1 \
        --work-dir work_dirs/sweep_demo [--cfg-options train_cfg.max_iters=100 ...] \
        [--jobs 1] [--threads 1] [--metrics semseg/mIoU depth/rmse] [--dry-run]

Every point of the cartesian product of the ``--grid`` axes and ``--seeds`` is one run of
``tools/train.py`` in its own subprocess (fresh registries, no memory carried from run to run),
with the seed set through ``randomness.seed`` and its own work dir
``<work-dir>/<axis=value,...,seed=s>/``. The final validation metrics of a run are read from the
json log mmengine's LoggerHook writes there (``<timestamp>/vis_data/<timestamp>.json``). A run
that finished leaves ``sweep_run.json`` (its grid point, seed, status and metrics) in its work
dir; running the same command again skips it, so an interrupted sweep resumes where it stopped
and a failed run is tried again.

Writes to ``--work-dir``: ``sweep.csv`` (one row per run, raw metrics), ``summary.csv`` (one row
per grid point: mean and sample standard deviation over seeds of every metric, the number of
seeds) and ``summary.md`` (the same as a Markdown table, also printed). A failed run does not
stop the sweep: the table says which grid point failed and where its log is.
"""

import argparse
import os.path as osp
import shlex
import sys

# Find mmkem from a source checkout without PYTHONPATH or `pip install -e .`.
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mmkem.analysis.sweep import prepare_sweep, run_sweep, train_command  # noqa: E402

TRAIN = osp.join(REPO, 'tools', 'train.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train a config over a grid of --cfg-options values and seeds.',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 1)[1],
    )
    parser.add_argument('config', help='train config file')
    parser.add_argument(
        '--grid',
        action='append',
        default=[],
        metavar='KEY=V1,V2,...',
        help='one axis of the grid (repeat for more axes; runs are their cartesian product)',
    )
    parser.add_argument(
        '--seeds', nargs='+', default=None, help="seeds (randomness.seed); default: the config's"
    )
    parser.add_argument('--work-dir', required=True, help='one sub-directory per run + tables')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        metavar='KEY=VALUE',
        help='overrides common to every run, passed to tools/train.py before the grid values',
    )
    parser.add_argument('--jobs', type=int, default=1, help='runs in parallel (default 1)')
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='OMP/MKL threads of each run (default 1; 0 leaves the environment as it is)',
    )
    parser.add_argument(
        '--metrics', nargs='+', default=None, help='metrics shown in summary.md (default: all)'
    )
    parser.add_argument('--dry-run', action='store_true', help='print the commands, run nothing')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        axes, seeds, runs = prepare_sweep(
            args.config, args.grid, args.seeds, args.cfg_options, args.work_dir, args.jobs,
            train_script=TRAIN,
        )  # fmt: skip
    except (ValueError, FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2

    if args.dry_run:
        for run in runs:
            run_dir = osp.join(args.work_dir, run['name'])
            cmd = train_command(
                args.config, run_dir, run['options'], args.cfg_options, train_script=TRAIN
            )
            print(shlex.join(cmd))
        return 0
    print(f'[sweep] {len(runs)} runs in {args.work_dir} ({args.jobs} at a time)', flush=True)
    records, table = run_sweep(
        args.config,
        axes,
        seeds,
        args.work_dir,
        args.cfg_options,
        args.jobs,
        args.threads or None,
        args.metrics,
        train_script=TRAIN,
        log=lambda line: print(line, flush=True),
    )
    print('\n' + table)
    print(f'\nwritten: {args.work_dir}/sweep.csv, summary.csv, summary.md')
    unknown = [m for m in args.metrics or [] if not any(m in r['metrics'] for r in records)]
    if unknown:
        print(f'no run logged the metrics {unknown} (their columns show "-")', file=sys.stderr)
    failed = sum(r['status'] != 'ok' for r in records)
    if failed:
        print(f'{failed} of {len(records)} runs failed (see the status column)', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
