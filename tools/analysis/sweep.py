"""Train a config over a grid of ``--cfg-options`` values and seeds; tabulate the final metrics.

This is how the paper's Tables 4 (random seeds), 5 (memory slots L) and 7 (top-k K) are made::

    python tools/analysis/sweep.py configs/demo/kem_effnet-lite0_nyud-demo.py \
        --grid model.neck.num_slots=5,10,20 --grid model.neck.topk=1,3 --seeds 0 1 \
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
import csv
import itertools
import json
import math
import os
import os.path as osp
import re
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Sequence, Tuple

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TRAIN = osp.join(REPO, 'tools', 'train.py')
RUN_RECORD = 'sweep_run.json'
RUN_LOG = 'sweep_train.log'
SEED_KEY = 'randomness.seed'
# Keys of a validation log line that are timings or counters, not metrics.
NOT_METRICS = ('data_time', 'time', 'step', 'iter', 'epoch', 'memory')

__all__ = [
    'GridAxis',
    'aggregate',
    'build_runs',
    'check_finished_runs',
    'check_keys',
    'format_markdown',
    'parse_grid',
    'parse_value',
    'read_final_metrics',
    'run_sweep',
]


class GridAxis:
    """One ``--grid key=v1,v2,...`` axis.

    Args:
        key (str): Dotted config key, as ``--cfg-options`` takes it (``model.neck.num_slots``).
        raw (Sequence[str]): The values as typed; passed unchanged to ``tools/train.py`` so that
            they are parsed there exactly as here.
        values (Sequence): The parsed values (ints, floats, bools, None, strings, tuples, lists).
    """

    def __init__(self, key: str, raw: Sequence[str], values: Sequence):
        self.key = key
        self.raw = list(raw)
        self.values = list(values)

    def __repr__(self) -> str:
        return f'GridAxis({self.key!r}, {self.values!r})'


def split_top_level(text: str) -> List[str]:
    """Split ``text`` at the commas that are not inside brackets: ``'(1,2),3'`` -> 2 items."""
    items, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in '([':
            depth += 1
        elif char in ')]':
            depth -= 1
            if depth < 0:
                raise ValueError(f'unbalanced brackets in {text!r}')
        elif char == ',' and depth == 0:
            items.append(text[start:i])
            start = i + 1
    if depth != 0:
        raise ValueError(f'unbalanced brackets in {text!r}')
    items.append(text[start:])
    return items


def parse_value(text: str):
    """Parse one value as mmengine's ``DictAction`` parses ``--cfg-options key=text``.

    ``'5'`` -> 5, ``'0.1'`` -> 0.1, ``'true'`` -> True, ``'None'`` -> None, ``'(1,2)'`` ->
    (1, 2), ``'[1,2]'`` -> [1, 2], anything else stays a string.
    """
    from mmengine.config import DictAction

    # DictAction's own entry point, so that the parsing cannot drift from mmengine's.
    namespace = argparse.Namespace()
    DictAction(option_strings=[], dest='value')(None, namespace, [f'key={text}'])
    return namespace.value['key']


def parse_grid(specs: Sequence[str]) -> List[GridAxis]:
    """Parse ``--grid`` arguments ``key=v1,v2,...`` into axes.

    Values are separated by the commas outside brackets, so ``key=(1,2),(3,4)`` has two tuple
    values and ``key=[1,2]`` one list value.

    Raises:
        ValueError: An axis without ``=``, with an empty key or value, or a key given twice.
    """
    axes, seen = [], set()
    for spec in specs:
        if '=' not in spec:
            raise ValueError(
                f'--grid {spec!r} has no "=": write key=value1,value2,... '
                '(e.g. model.neck.num_slots=5,10,20)'
            )
        key, text = spec.split('=', 1)
        key = key.strip()
        if not key:
            raise ValueError(f'--grid {spec!r} has an empty key before "="')
        if key in seen:
            raise ValueError(f'--grid key {key!r} is given twice; put all its values in one axis')
        if key == SEED_KEY:
            raise ValueError(f'--grid {key!r}: give the seeds with --seeds instead')
        seen.add(key)
        raw = [item.strip() for item in split_top_level(text)]
        if not text.strip() or any(not item for item in raw):
            raise ValueError(
                f'--grid key {key!r} has an empty value in {text!r}: write {key}=v1,v2,...'
            )
        axes.append(GridAxis(key, raw, [parse_value(item) for item in raw]))
    return axes


def parse_seeds(seeds: Sequence[str]) -> List[int]:
    """Seeds as ints; a clear error naming the one that is not an integer."""
    parsed = []
    for seed in seeds:
        try:
            parsed.append(int(seed))
        except ValueError:
            raise ValueError(f'--seeds takes integers, got {seed!r}') from None
    if len(set(parsed)) != len(parsed):
        raise ValueError(f'--seeds has duplicates: {list(seeds)}')
    return parsed


def lookup(cfg, key: str):
    """The value of a dotted ``key`` in a config (list items by index, as --cfg-options).

    Raises:
        KeyError: Naming the key and the longest prefix that exists.
    """
    node, done = cfg, []
    for part in key.split('.'):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif hasattr(node, 'keys') and part in node.keys():
            node = node[part]
        else:
            where = '.'.join(done) or 'the top level'
            keys = sorted(map(str, node.keys())) if hasattr(node, 'keys') else None
            hint = f' (keys there: {", ".join(keys)})' if keys else ''
            raise KeyError(f'{key!r}: {where} has no {part!r}{hint}')
        done.append(part)
    return node


def check_keys(config: str, axes: Sequence[GridAxis], cfg_options: Optional[dict] = None):
    """Load ``config`` with mmengine (plus ``cfg_options``) and check every grid key exists.

    Returns:
        Config: The loaded config.

    Raises:
        ValueError: Naming the first grid key that the config does not have.
    """
    from mmengine.config import Config

    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config!r} does not exist')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    for axis in axes:
        try:
            lookup(cfg, axis.key)
        except KeyError as e:
            raise ValueError(
                f'--grid key {axis.key!r} is not in the config {config}: {e.args[0]}'
            ) from None
    return cfg


def short_names(keys: Sequence[str]) -> List[str]:
    """The shortest dotted suffix of each key that tells the keys apart (``num_slots``)."""
    parts = [key.split('.') for key in keys]
    names = []
    for i, key_parts in enumerate(parts):
        for n in range(1, len(key_parts) + 1):
            name = '.'.join(key_parts[-n:])
            others = ['.'.join(p[-n:]) for j, p in enumerate(parts) if j != i]
            if name not in others:
                break
        names.append(name)
    return names


def safe(text: str) -> str:
    """A value as a piece of a directory name (no path separators, spaces or brackets)."""
    return re.sub(r'[^A-Za-z0-9._+\-]', '_', text)


def build_runs(axes: Sequence[GridAxis], seeds: Sequence[int]) -> List[dict]:
    """The cartesian product of the axes and the seeds, seed varying fastest.

    Returns:
        list[dict]: Per run: ``name`` (``num_slots=5,topk=1,seed=0``), ``point`` (short axis
        name -> raw value, without the seed), ``options`` (``key=raw`` strings for
        --cfg-options, seed included) and ``seed``.

    Raises:
        ValueError: Two grid values that give the same run name.
    """
    names = short_names([axis.key for axis in axes])
    runs, seen = [], {}
    for combo in itertools.product(*[axis.raw for axis in axes]):
        for seed in seeds:
            pieces = [f'{n}={safe(v)}' for n, v in zip(names, combo)] + [f'seed={seed}']
            name = ','.join(pieces)
            if name in seen:
                raise ValueError(
                    f'grid values {seen[name]} and {list(combo)} give the same run directory '
                    f'{name!r}; make them differ in letters or digits'
                )
            seen[name] = list(combo)
            options = [f'{axis.key}={v}' for axis, v in zip(axes, combo)]
            runs.append(
                dict(
                    name=name,
                    point=dict(zip(names, combo)),
                    options=options + [f'{SEED_KEY}={seed}'],
                    seed=seed,
                )
            )
    return runs


def train_command(
    config: str, run_dir: str, options: Sequence[str], extra_options: Sequence[str] = ()
) -> List[str]:
    """The ``tools/train.py`` command of one run (the grid values come after --cfg-options')."""
    cmd = [sys.executable, TRAIN, config, '--work-dir', run_dir]
    return cmd + ['--cfg-options', *extra_options, *options]


def timestamps(run_dir: str) -> List[str]:
    """The ``<timestamp>`` dirs mmengine's runner made in ``run_dir`` (one per start)."""
    return [d for d in os.listdir(run_dir) if re.fullmatch(r'\d{8}_\d{6}', d)]


def read_final_metrics(run_dir: str, ignore: Sequence[str] = ()) -> Dict[str, float]:
    """The last validation metrics mmengine logged in a run's work dir.

    mmengine's LoggerHook writes one json line per logged step to
    ``<run_dir>/<timestamp>/vis_data/<timestamp>.json``; training lines carry ``lr`` and the
    losses, validation lines the metrics. The newest timestamp with a validation line wins (a
    resumed run has several).

    Args:
        run_dir (str): The run's work dir.
        ignore (Sequence[str]): Timestamp dirs to leave out (those of an earlier attempt).

    Returns:
        dict: Metric name -> float (timings and counters left out); empty if nothing was found.
    """
    stamps = sorted(d for d in timestamps(run_dir) if d not in ignore)
    for stamp in reversed(stamps):
        vis = osp.join(run_dir, stamp, 'vis_data')
        for log in (osp.join(vis, f'{stamp}.json'), osp.join(vis, 'scalars.json')):
            if not osp.isfile(log):
                continue
            final = {}
            with open(log) as f:
                for line in f:
                    line = line.strip()
                    if not line:
                        continue
                    record = json.loads(line)
                    if 'lr' in record or any('loss' in k for k in record):
                        continue
                    final = record
            metrics = {
                k: float(v)
                for k, v in final.items()
                if k not in NOT_METRICS and isinstance(v, (int, float)) and not isinstance(v, bool)
            }
            if metrics:
                return metrics
    return {}


def check_finished_runs(runs, config: str, work_dir: str, extra_options=()) -> None:
    """Refuse to resume into runs that finished with another command (other common options).

    Raises:
        ValueError: Naming the first such run, its old and its new command.
    """
    for run in runs:
        run_dir = osp.join(work_dir, run['name'])
        record_path = osp.join(run_dir, RUN_RECORD)
        if not osp.isfile(record_path):
            continue
        with open(record_path) as f:
            record = json.load(f)
        if record.get('status') != 'ok':
            continue  # trained again anyway
        old = record.get('command', '')
        # The interpreter and the checkout may differ; the config and options must not.
        new = train_command(config, run_dir, run['options'], extra_options)
        if shlex.split(old)[2:] != new[2:]:
            raise ValueError(
                f'{run_dir} holds a run of another command:\n  {old}\nnot\n  {shlex.join(new)}\n'
                'use another --work-dir, or delete that run directory to train it again'
            )


def run_one(run: dict, config: str, work_dir: str, extra_options, threads: Optional[int]) -> dict:
    """Train one grid point in a subprocess and return its record (also saved in its work dir).

    A run whose work dir already holds a successful ``sweep_run.json`` is not trained again.
    """
    run_dir = osp.join(work_dir, run['name'])
    record_path = osp.join(run_dir, RUN_RECORD)
    if osp.isfile(record_path):
        with open(record_path) as f:
            record = json.load(f)
        if record.get('status') == 'ok':
            record['skipped'] = True
            return record
    os.makedirs(run_dir, exist_ok=True)
    # A failed earlier attempt may have left logs; only this attempt's metrics count.
    earlier = timestamps(run_dir)
    cmd = train_command(config, run_dir, run['options'], extra_options)
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    log_path = osp.join(run_dir, RUN_LOG)
    start = time.time()
    with open(log_path, 'w') as log:
        log.write(shlex.join(cmd) + '\n\n')
        log.flush()
        returncode = subprocess.run(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=os.getcwd()
        ).returncode
    seconds = time.time() - start
    metrics = read_final_metrics(run_dir, earlier) if returncode == 0 else {}
    if returncode != 0:
        status = f'failed (exit {returncode})'
    elif not metrics:
        status = 'failed (no validation metrics in the log)'
    else:
        status = 'ok'
    record = dict(
        name=run['name'],
        point=run['point'],
        seed=run['seed'],
        status=status,
        returncode=returncode,
        seconds=round(seconds, 1),
        log=log_path,
        command=shlex.join(cmd),
        metrics=metrics,
    )
    with open(record_path, 'w') as f:
        json.dump(record, f, indent=2)
    record['skipped'] = False
    return record


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (n - 1; NaN for a single value)."""
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else math.nan
    return mean, std


def aggregate(records: Sequence[dict]) -> Tuple[List[str], List[dict]]:
    """Group the runs by grid point (over seeds) and average every metric.

    Args:
        records (Sequence[dict]): Run records with ``point``, ``seed``, ``status``, ``log`` and
            ``metrics``, in grid order.

    Returns:
        tuple: ``(metric names, rows)``; a row has ``point``, ``n`` (successful seeds),
        ``seeds`` (all), ``mean`` and ``std`` (metric -> float) and ``status`` (``ok`` or which
        runs failed and their logs).
    """
    metric_names: List[str] = []
    for record in records:
        for key in record['metrics']:
            if key not in metric_names:
                metric_names.append(key)
    groups: Dict[str, List[dict]] = {}
    for record in records:
        groups.setdefault(json.dumps(record['point']), []).append(record)
    rows = []
    for group in groups.values():
        ok = [r for r in group if r['status'] == 'ok']
        failed = [r for r in group if r['status'] != 'ok']
        row = dict(point=group[0]['point'], n=len(ok), seeds=[r['seed'] for r in group])
        row['mean'], row['std'] = {}, {}
        for key in metric_names:
            values = [r['metrics'][key] for r in ok if key in r['metrics']]
            if values:
                row['mean'][key], row['std'][key] = mean_std(values)
        row['status'] = (
            'ok'
            if not failed
            else '; '.join(f'seed {r["seed"]} {r["status"]}: {r["log"]}' for r in failed)
        )
        rows.append(row)
    return metric_names, rows


def fmt(mean: Optional[float], std: Optional[float], digits: int = 4) -> str:
    """A summary cell: ``mean ± std``, the mean alone for one seed, ``-`` for none."""
    if mean is None:
        return '-'
    if std is None or math.isnan(std):
        return f'{mean:.{digits}f}'
    return f'{mean:.{digits}f} ± {std:.{digits}f}'


def format_markdown(metric_names: Sequence[str], rows: Sequence[dict], digits: int = 4) -> str:
    """The summary as a Markdown table: grid values, seeds, mean ± std per metric, status."""
    axes = list(rows[0]['point']) if rows else []
    header = axes + ['seeds'] + list(metric_names) + ['status']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for row in rows:
        cells = [str(row['point'][a]) for a in axes] + [str(row['n'])]
        cells += [fmt(row['mean'].get(k), row['std'].get(k), digits) for k in metric_names]
        cells.append(row['status'].replace('|', '\\|'))
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def write_outputs(work_dir: str, records: Sequence[dict], metrics: Optional[Sequence[str]]):
    """Write sweep.csv, summary.csv and summary.md; return the Markdown table."""
    metric_names, rows = aggregate(records)
    axes = list(records[0]['point']) if records else []
    with open(osp.join(work_dir, 'sweep.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['run', *axes, 'seed', 'status', 'seconds', 'log', *metric_names])
        for r in records:
            values = [r['metrics'].get(k, '') for k in metric_names]
            writer.writerow(
                [r['name'], *[r['point'][a] for a in axes], r['seed'], r['status']]
                + [r['seconds'], r['log'], *values]
            )
    with open(osp.join(work_dir, 'summary.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        stats = [f'{k} {s}' for k in metric_names for s in ('mean', 'std')]
        writer.writerow([*axes, 'seeds', *stats, 'status'])
        for row in rows:
            values = []
            for k in metric_names:
                mean, std = row['mean'].get(k), row['std'].get(k)
                values += [
                    '' if mean is None else mean,
                    '' if std is None or math.isnan(std) else std,
                ]
            writer.writerow([*[row['point'][a] for a in axes], row['n'], *values, row['status']])
    shown = list(metrics) if metrics else metric_names
    table = format_markdown(shown, rows)
    with open(osp.join(work_dir, 'summary.md'), 'w') as f:
        f.write(table + '\n')
    return table


def run_sweep(
    config: str,
    axes: Sequence[GridAxis],
    seeds: Sequence[int],
    work_dir: str,
    extra_options: Sequence[str] = (),
    jobs: int = 1,
    threads: Optional[int] = 1,
    metrics: Optional[Sequence[str]] = None,
) -> Tuple[List[dict], str]:
    """Run (or skip, if finished) every grid point x seed and write the tables.

    Returns:
        tuple: The run records in grid order and the Markdown summary.
    """
    runs = build_runs(axes, seeds)
    os.makedirs(work_dir, exist_ok=True)

    def one(run):
        record = run_one(run, config, work_dir, extra_options, threads)
        what = 'already done' if record['skipped'] else f'{record["seconds"]:.0f} s'
        print(f'[sweep] {record["name"]}: {record["status"]} ({what})', flush=True)
        return record

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        records = list(pool.map(one, runs))
    table = write_outputs(work_dir, records, metrics)
    return records, table


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
        if args.jobs < 1:
            raise ValueError(f'--jobs must be >= 1, got {args.jobs}')
        axes = parse_grid(args.grid)
        common = {}
        for option in args.cfg_options:
            if '=' not in option:
                raise ValueError(f'--cfg-options {option!r} has no "=": write key=value')
            key, text = option.split('=', 1)
            common[key] = parse_value(text)
        grid_keys = {axis.key for axis in axes}
        both = sorted(grid_keys & set(common))
        if both:
            raise ValueError(f'{both} are both --grid axes and --cfg-options; keep one')
        cfg = check_keys(args.config, axes, common)
        if args.seeds is None:
            seeds = [int(cfg.get('randomness', {}).get('seed', None) or 0)]
        else:
            seeds = parse_seeds(args.seeds)
        runs = build_runs(axes, seeds)
        check_finished_runs(runs, args.config, args.work_dir, args.cfg_options)
    except (ValueError, FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2

    if args.dry_run:
        for run in runs:
            run_dir = osp.join(args.work_dir, run['name'])
            print(shlex.join(train_command(args.config, run_dir, run['options'], args.cfg_options)))
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
