"""The sweep runner: train one config at every grid point x seed, resume, tabulate the metrics.

Every run is one call of the repository's train script (``tools/train.py``, given by the caller
as ``train_script``) in its own subprocess (fresh registries, no memory carried from run to run),
with the seed set through ``randomness.seed`` and its own work dir
``<work-dir>/<axis=value,...,seed=s>/``.
The final validation metrics of a run are read from the json log mmengine's LoggerHook writes
there (``<timestamp>/vis_data/<timestamp>.json``). A run that finished leaves ``sweep_run.json``
(its grid point, seed, status and metrics) in its work dir; running the same sweep again skips it,
so an interrupted sweep resumes where it stopped and a failed run is tried again.

Writes to the work dir: ``sweep.csv`` (one row per run, raw metrics), ``summary.csv`` (one row per
grid point: mean and sample standard deviation over seeds of every metric, the number of seeds)
and ``summary.md`` (the same as a Markdown table). A failed run does not stop the sweep: the table
says which grid point failed and where its log is. The command line is ``tools/analysis/sweep.py``
(docs/sweeps.md).
"""

import csv
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
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .sweep_grid import GridAxis, build_runs, check_keys, parse_grid, parse_seeds, parse_value
from .tables import format_mean_std, markdown_table, mean_std

__all__ = [
    'NOT_METRICS',
    'RUN_LOG',
    'RUN_RECORD',
    'aggregate',
    'check_finished_runs',
    'format_markdown',
    'prepare_sweep',
    'read_final_metrics',
    'run_one',
    'run_sweep',
    'timestamps',
    'train_command',
    'write_outputs',
]

RUN_RECORD = 'sweep_run.json'
RUN_LOG = 'sweep_train.log'
# Keys of a validation log line that are timings or counters, not metrics.
NOT_METRICS = ('data_time', 'time', 'step', 'iter', 'epoch', 'memory')


def train_command(
    config: str,
    run_dir: str,
    options: Sequence[str],
    extra_options: Sequence[str] = (),
    *,
    train_script: str,
) -> List[str]:
    """The train-script command of one run (the grid values come after --cfg-options').

    Args:
        config (str): The config file, as the user gave it.
        run_dir (str): The run's work dir.
        options (Sequence[str]): The run's ``key=value`` options (grid values and seed).
        extra_options (Sequence[str]): ``key=value`` options common to every run, put first.
        train_script (str): The script that trains a config (``tools/train.py``).

    Returns:
        list[str]: The command, this interpreter first.
    """
    cmd = [sys.executable, train_script, config, '--work-dir', run_dir]
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


def check_finished_runs(
    runs, config: str, work_dir: str, extra_options=(), *, train_script: str
) -> None:
    """Refuse to resume into runs that finished with another command (other common options).

    The interpreter and the train script may differ (another environment or checkout); the config
    and the options must not.

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
        new = train_command(
            config, run_dir, run['options'], extra_options, train_script=train_script
        )
        if shlex.split(old)[2:] != new[2:]:
            raise ValueError(
                f'{run_dir} holds a run of another command:\n  {old}\nnot\n  {shlex.join(new)}\n'
                'use another --work-dir, or delete that run directory to train it again'
            )


def run_one(
    run: dict,
    config: str,
    work_dir: str,
    extra_options,
    threads: Optional[int],
    *,
    train_script: str,
) -> dict:
    """Train one grid point in a subprocess and return its record (also saved in its work dir).

    A run whose work dir already holds a successful ``sweep_run.json`` is not trained again. The
    subprocess gets the environment without ``PYTHONPATH`` (the train script finds its own
    checkout) and, with ``threads``, that many OMP/MKL threads.
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
    cmd = train_command(config, run_dir, run['options'], extra_options, train_script=train_script)
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


def format_markdown(metric_names: Sequence[str], rows: Sequence[dict], digits: int = 4) -> str:
    """The summary as a Markdown table: grid values, seeds, mean ± std per metric, status."""
    axes = list(rows[0]['point']) if rows else []
    header = axes + ['seeds'] + list(metric_names) + ['status']
    cells = []
    for row in rows:
        cells.append([str(row['point'][a]) for a in axes] + [str(row['n'])])
        cells[-1] += [
            format_mean_std(row['mean'].get(k), row['std'].get(k), digits) for k in metric_names
        ]
        cells[-1].append(row['status'].replace('|', '\\|'))
    return '\n'.join(markdown_table(header, cells))


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
    *,
    train_script: str,
    log: Optional[Callable[[str], None]] = None,
) -> Tuple[List[dict], str]:
    """Run (or skip, if finished) every grid point x seed and write the tables.

    Args:
        config (str): The config file.
        axes (Sequence[GridAxis]): The grid (:func:`~mmkem.analysis.sweep_grid.parse_grid`).
        seeds (Sequence[int]): The seeds of every grid point.
        work_dir (str): One sub-directory per run, and the tables.
        extra_options (Sequence[str]): ``key=value`` options common to every run.
        jobs (int): Runs in parallel. Defaults to 1.
        threads (int, optional): OMP/MKL threads of each run; None leaves the environment as it
            is. Defaults to 1.
        metrics (Sequence[str], optional): The metrics of summary.md. Defaults to None (all).
        train_script (str): The script that trains a config (``tools/train.py``).
        log (callable, optional): Called with one line per finished run. Defaults to None.

    Returns:
        tuple: The run records in grid order and the Markdown summary.
    """
    runs = build_runs(axes, seeds)
    os.makedirs(work_dir, exist_ok=True)

    def one(run):
        record = run_one(run, config, work_dir, extra_options, threads, train_script=train_script)
        what = 'already done' if record['skipped'] else f'{record["seconds"]:.0f} s'
        if log is not None:
            log(f'[sweep] {record["name"]}: {record["status"]} ({what})')
        return record

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        records = list(pool.map(one, runs))
    table = write_outputs(work_dir, records, metrics)
    return records, table


def prepare_sweep(
    config: str,
    grid: Sequence[str],
    seeds: Optional[Sequence[str]],
    cfg_options: Sequence[str],
    work_dir: str,
    jobs: int = 1,
    *,
    train_script: str,
) -> Tuple[List[GridAxis], List[int], List[dict]]:
    """Check a sweep's command line before anything is created or run.

    Args:
        config (str): The config file.
        grid (Sequence[str]): The ``key=v1,v2,...`` axes.
        seeds (Sequence[str], optional): The seeds as typed; None takes the config's
            ``randomness.seed`` (0 if it has none).
        cfg_options (Sequence[str]): ``key=value`` options common to every run.
        work_dir (str): The sweep's work dir (its finished runs are checked).
        jobs (int): Runs in parallel. Defaults to 1.
        train_script (str): The script that trains a config (``tools/train.py``).

    Returns:
        tuple: The axes, the seeds and the runs (:func:`~mmkem.analysis.sweep_grid.build_runs`).

    Raises:
        ValueError: Naming what is wrong: ``jobs``, an axis, an option, a key the config does not
            have, a seed, or a finished run of another command.
        FileNotFoundError: The config does not exist.
    """
    if jobs < 1:
        raise ValueError(f'--jobs must be >= 1, got {jobs}')
    axes = parse_grid(grid)
    common = {}
    for option in cfg_options:
        if '=' not in option:
            raise ValueError(f'--cfg-options {option!r} has no "=": write key=value')
        key, text = option.split('=', 1)
        common[key] = parse_value(text)
    grid_keys = {axis.key for axis in axes}
    both = sorted(grid_keys & set(common))
    if both:
        raise ValueError(f'{both} are both --grid axes and --cfg-options; keep one')
    cfg = check_keys(config, axes, common)
    if seeds is None:
        parsed = [int(cfg.get('randomness', {}).get('seed', None) or 0)]
    else:
        parsed = parse_seeds(seeds)
    runs = build_runs(axes, parsed)
    check_finished_runs(runs, config, work_dir, cfg_options, train_script=train_script)
    return axes, parsed, runs
