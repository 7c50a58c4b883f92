"""The paper's Table 1: KEM and sKEM on Sort-of-CLEVR, balanced and long-tailed training sets.

Trains each row (no module as the control, cross-attention, KEM, sKEM in both readings) on each
training distribution over the given seeds with mmengine's Runner, on the configs of a directory
(the repository's ``configs/sort_of_clevr/``), and tests on the balanced test split twice: as
generated, and with the colour each question names replaced by a random other one (a model that
does not read the colour keeps its accuracy there and is flagged). Runs go to a pool of worker
processes (one per core, one torch thread each); each finished run is written at once to
``<work_dir>/runs/<name>.json``, so an interrupted table resumes where it stopped. The tables
(Markdown and JSON: mean ± std over seeds next to the paper's numbers, per question type and per
asked colour) go to ``table1.md`` and ``table1.json``. The command line is
``tools/experiments/sort_of_clevr.py`` (docs/sort_of_clevr.md).

The generated data are cached under ``data_root`` and shared by all runs; the seeds change the
model's initialisation and the order of the training samples, not the data.
"""

import json
import multiprocessing
import os
import os.path as osp
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Callable, Dict, List, Optional, Sequence

from mmengine.config import Config

from mmkem.analysis.tables import format_mean_std, markdown_table, mean_std
from mmkem.datasets.synthetic.sort_of_clevr import COLOURS, QUESTION_TYPES

__all__ = [
    'COLOUR_BLIND_MARGIN',
    'DISTRIBUTIONS',
    'METHODS',
    'METRIC_KEYS',
    'SMALL',
    'build_cfg',
    'make_colour_table',
    'make_table',
    'make_type_table',
    'run_one',
    'run_table1',
]

#: (row name, config stem, paper's accuracy balanced / long-tailed, or None)
METHODS = [
    ('none (control)', 'none_sort-of-clevr', None),
    ('CA', 'ca_sort-of-clevr', None),
    ('KEM', 'kem_sort-of-clevr', (81.0, 71.0)),
    ('sKEM (feature)', 'skem-feature_sort-of-clevr', (79.0, 79.0)),
    ('sKEM (task_axis)', 'skem-task-axis_sort-of-clevr', (79.0, 79.0)),
]
DISTRIBUTIONS = ('balanced', 'long-tailed')
METRIC_KEYS = ('accuracy', 'non_relational', 'relational')
TYPE_KEYS = tuple(name for names in QUESTION_TYPES for name in names)
#: A row whose accuracy drops by less than this (points) when the asked colour is shuffled does
#: not use the colour: it sits on the colour-blind plateau (docs/sort_of_clevr.md).
COLOUR_BLIND_MARGIN = 10.0
#: The default size: 3,000 training images (with the configs' 9,800 the models stayed on the
#: colour-blind plateau for as many steps, docs/sort_of_clevr.md) and a shorter schedule that fits
#: the 5 x 2 x 3 table into about 40 minutes on this machine. ``--full`` keeps the configs' size.
SMALL = dict(train_images=3000, iters=4000)


def build_cfg(
    config_dir: str,
    stem: str,
    long_tailed: bool,
    seed: int,
    size: dict,
    data_root: str,
    work_dir: str,
    long_tail_target: str = 'colour',
    exponent: float = 2.0,
    batch_size: Optional[int] = None,
) -> Config:
    """The config of one run, from ``<config_dir>/<stem>[-lt].py`` plus the overrides.

    Args:
        config_dir (str): The directory of the Sort-of-CLEVR configs.
        stem (str): The config's name without ``-lt`` and ``.py``.
        long_tailed (bool): Train on the long-tailed set (the ``-lt`` config).
        seed (int): ``randomness.seed``.
        size (dict): ``train_images``, ``test_images``, ``iters``,
            ``train_questions_per_family`` overrides (missing: keep).
        data_root (str): The cache of the generated data.
        work_dir (str): The parent of the run's work dir.
        long_tail_target (str): What the long-tailed set skews. Defaults to ``'colour'``.
        exponent (float): Its power-law exponent. Defaults to 2.0.
        batch_size (int, optional): Images per training step. Defaults to None (the config's).

    Returns:
        Config: Trains ``iters`` iterations (linear warm-up over the first 5%, then cosine decay),
        tests once at the end, no checkpoints.
    """
    cfg = Config.fromfile(osp.join(config_dir, stem + ('-lt' if long_tailed else '') + '.py'))
    train_set = cfg.train_dataloader.dataset
    test_set = cfg.test_dataloader.dataset
    train_set.data_root = test_set.data_root = data_root
    if size.get('train_images'):
        train_set.num_images = size['train_images']
    if size.get('test_images'):
        test_set.num_images = size['test_images']
    if size.get('train_questions_per_family'):
        train_set.questions_per_family = size['train_questions_per_family']
    if long_tailed:
        train_set.long_tail = dict(target=long_tail_target, exponent=exponent)
    if batch_size:
        cfg.train_dataloader.batch_size = batch_size
    iters = size.get('iters') or cfg.train_cfg.max_iters
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=iters)
    warmup = max(1, iters // 20)
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.1, begin=0, end=warmup, by_epoch=False),
        dict(type='CosineAnnealingLR', T_max=iters - warmup, eta_min=1e-5, begin=warmup,
             end=iters, by_epoch=False),
    ]  # fmt: skip
    # Test once at the end, no validation during training, no checkpoints.
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = max(1, iters // 5)
    cfg.randomness = dict(seed=seed)
    name = run_name(stem, long_tailed, seed)
    cfg.work_dir = osp.join(work_dir, name)
    cfg.experiment_name = f'{name}_{time.strftime("%Y%m%d_%H%M%S")}'
    cfg.visualizer.name = cfg.experiment_name  # one visualizer instance per run, not a shared one
    cfg.log_level = 'WARNING'
    return cfg


def run_name(stem: str, long_tailed: bool, seed: int) -> str:
    """``<stem>[-lt]_seed<seed>``: the run's work dir and result file name."""
    return f'{stem}{"-lt" if long_tailed else ""}_seed{seed}'


def _metrics(metrics: dict) -> Dict[str, float]:
    return {key.split('/')[-1]: float(value) for key, value in metrics.items()}


def run_one(job: dict) -> dict:
    """Train and test one run; write ``<work_dir>/runs/<name>.json`` and return its record.

    Args:
        job (dict): ``config_dir``, ``stem``, ``long_tailed``, ``seed``, ``threads`` and the
            keyword arguments of :func:`build_cfg` (``size``, ``data_root``, ``work_dir``,
            ``long_tail_target``, ``exponent``, ``batch_size``), plus ``key`` (what the run was
            asked to be, stored so that a resumed table can tell a stale result).

    Returns:
        dict: ``key``, ``seed``, ``seconds``, the test metrics (``accuracy``, ``non_relational``,
        ..., ``colour_red``, ...) and the same metrics with shuffled colours under ``shuffled``.
    """
    import torch
    from mmengine.runner import Runner, TestLoop

    import mmkem  # noqa: F401  (registers the dataset, model and metric)

    torch.set_num_threads(job['threads'])
    kwargs = {k: job[k] for k in ('size', 'data_root', 'work_dir', 'long_tail_target', 'exponent')}
    cfg = build_cfg(
        job['config_dir'], job['stem'], job['long_tailed'], job['seed'],
        batch_size=job['batch_size'], **kwargs,
    )  # fmt: skip
    # keep the start method of this process (spawn in the pool): no data-loader workers anyway
    cfg.env_cfg.mp_cfg = dict(mp_start_method=multiprocessing.get_start_method())
    tic = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    run = _metrics(runner.test())
    shuffled = cfg.test_dataloader.copy()
    shuffled.dataset = dict(shuffled.dataset, question_colour='shuffled', shuffle_seed=0)
    run['shuffled'] = _metrics(TestLoop(runner, shuffled, cfg.test_evaluator).run())
    run.update(key=job['key'], seed=job['seed'], seconds=round(time.time() - tic, 1))
    out_dir = osp.join(job['work_dir'], 'runs')
    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir, run_name(job['stem'], job['long_tailed'], job['seed']) + '.json')
    with open(path + '.tmp', 'w') as f:
        json.dump(run, f, indent=2)
    os.replace(path + '.tmp', path)  # a killed run leaves no half-written result
    return run


def _stats(runs: List[dict], key: str, shuffled: bool = False):
    values = [(r['shuffled'] if shuffled else r)[key] for r in runs]
    return mean_std(values)


def _cell(runs: List[dict], key: str, shuffled: bool = False) -> str:
    if not runs:
        return '-'
    return format_mean_std(*_stats(runs, key, shuffled), digits=1)


def uses_colour(runs: List[dict]) -> Optional[bool]:
    """Whether the runs' mean accuracy drops by at least ``COLOUR_BLIND_MARGIN`` points when the
    asked colour is shuffled; None without runs."""
    if not runs:
        return None
    drop = _stats(runs, 'accuracy')[0] - _stats(runs, 'accuracy', shuffled=True)[0]
    return drop >= COLOUR_BLIND_MARGIN


def make_table(results: dict, methods, seeds) -> str:
    """The main Markdown table: mean ± std over seeds (1 decimal) per method and distribution,
    the accuracy with shuffled colours, the colour-blind flag and the paper's number."""
    header = [
        'Model', 'Train distribution', 'Accuracy (%)', 'Non-relational', 'Relational',
        'Shuffled colour', 'Uses colour', 'Paper', 'Runs', 'Seeds',
    ]  # fmt: skip
    rows = []
    for method, _, paper in methods:
        for d, dist in enumerate(DISTRIBUTIONS):
            runs = results[method][dist]
            flag = {None: '-', True: 'yes', False: '**no: colour-blind**'}[uses_colour(runs)]
            rows.append(
                [method, dist]
                + [_cell(runs, key) for key in METRIC_KEYS]
                + [_cell(runs, 'accuracy', shuffled=True), flag]
                + ['–' if paper is None else f'{paper[d]:.0f}', str(len(runs))]
                + [', '.join(str(r['seed']) for r in runs) or '-']
            )
    return '\n'.join(markdown_table(header, rows))


def make_type_table(results: dict, methods) -> str:
    """Accuracy per question type (mean ± std over seeds) per method and distribution."""
    header = ['Model', 'Train distribution'] + list(TYPE_KEYS)
    rows = [
        [method, dist] + [_cell(results[method][dist], key) for key in TYPE_KEYS]
        for method, _, _ in methods
        for dist in DISTRIBUTIONS
    ]
    return '\n'.join(markdown_table(header, rows))


def make_colour_table(results: dict, methods, family: str = '') -> str:
    """Accuracy per asked colour (mean ± std over seeds), colours in long-tail rank order.

    Args:
        results (dict): method -> distribution -> runs.
        methods: The ``METHODS`` rows to show.
        family (str): ``''`` (all questions), ``'non_relational'`` or ``'relational'``.
    """
    suffix = f'_{family}' if family else ''
    header = ['Model', 'Train distribution'] + list(COLOURS)
    rows = [
        [method, dist] + [_cell(results[method][dist], f'colour_{c}{suffix}') for c in COLOURS]
        for method, _, _ in methods
        for dist in DISTRIBUTIONS
    ]
    return '\n'.join(markdown_table(header, rows))


def _load_done(path: str, key: dict) -> Optional[dict]:
    if not osp.isfile(path):
        return None
    with open(path) as f:
        run = json.load(f)
    return run if run.get('key') == key else None


def run_table1(
    config_dir: str,
    seeds: Sequence[int],
    size: dict,
    data_root: str,
    work_dir: str,
    methods: Optional[Sequence[str]] = None,
    jobs: int = 2,
    threads: int = 1,
    long_tail_target: str = 'colour',
    exponent: float = 2.0,
    batch_size: Optional[int] = None,
    command: str = '',
    log: Optional[Callable[[str], None]] = None,
    train: bool = True,
) -> Dict[str, object]:
    """Train and test every method x distribution x seed; write ``table1.md`` and ``table1.json``.

    Args:
        config_dir (str): The directory of the Sort-of-CLEVR configs.
        seeds (Sequence[int]): Training seeds.
        size (dict): ``train_images``, ``test_images``, ``iters`` overrides (empty: the configs').
        data_root (str): The cache of the generated data.
        work_dir (str): One sub-directory per run, ``runs/*.json`` and the tables.
        methods (Sequence[str], optional): Row names of ``METHODS`` to run. Defaults to None (all).
        jobs (int): Runs trained at the same time, each in its own process. 1 runs them in this
            process. Defaults to 2 (one per core of this machine).
        threads (int): Torch threads per run. Defaults to 1.
        long_tail_target (str): What the long-tailed set skews. Defaults to ``'colour'``.
        exponent (float): Its power-law exponent. Defaults to 2.0.
        batch_size (int, optional): Images per training step. Defaults to None (the configs').
        command (str): The command line, recorded in the setting. Defaults to ''.
        log (callable, optional): Called with a line per finished run. Defaults to None.
        train (bool): Train the runs not yet in ``runs/``; False writes the tables from the runs
            already there (missing cells show ``-``). Defaults to True.

    Returns:
        dict: ``setting``, ``results`` (method -> distribution -> runs), ``paper``, ``table``,
        ``type_table``, ``colour_table`` (Markdown) and ``header`` (the line above the tables).
    """
    from mmkem.datasets.synthetic.sort_of_clevr import load_or_generate_sort_of_clevr

    known = [m for m, _, _ in METHODS]
    names = known if methods is None else list(methods)
    for name in names:
        if name not in known:
            raise ValueError(f'unknown method {name!r}; choose from {known}')
    rows = [m for m in METHODS if m[0] in names]
    if jobs < 1 or threads < 1:
        raise ValueError(f'jobs and threads must be >= 1, got jobs={jobs}, threads={threads}')
    os.makedirs(work_dir, exist_ok=True)
    common = dict(
        size=dict(size), data_root=data_root, work_dir=work_dir,
        long_tail_target=long_tail_target, exponent=exponent, batch_size=batch_size,
    )  # fmt: skip
    first = build_cfg(config_dir, rows[0][1], True, seeds[0], **common)
    train_set, test_set = first.train_dataloader.dataset, first.test_dataloader.dataset
    setting = dict(
        train_images=train_set.num_images,
        test_images=test_set.num_images,
        questions_per_image=2 * train_set.questions_per_family,
        iters=first.train_cfg.max_iters,
        batch_images=first.train_dataloader.batch_size,
        long_tail=dict(target=long_tail_target, exponent=exponent),
        test_split='balanced',
        seeds=list(seeds),
        jobs=jobs,
        threads=threads,
        command=command,
    )
    # Generate the caches once here, not in two workers at the same time.
    q = train_set.questions_per_family
    load_or_generate_sort_of_clevr(data_root, train_set.num_images, q, train_set.seed, None)
    load_or_generate_sort_of_clevr(
        data_root, train_set.num_images, q, train_set.seed, train_set.long_tail
    )
    load_or_generate_sort_of_clevr(
        data_root, test_set.num_images, test_set.questions_per_family, test_set.seed, None
    )

    results = {method: {dist: {} for dist in DISTRIBUTIONS} for method, _, _ in rows}
    pending = []
    # seed-major: an interrupted table has every row, with fewer seeds
    for seed in seeds:
        for method, stem, _ in rows:
            for dist in DISTRIBUTIONS:
                key = dict(
                    stem=stem, distribution=dist, seed=seed, iters=setting['iters'],
                    train_images=setting['train_images'], test_images=setting['test_images'],
                    questions_per_image=setting['questions_per_image'],
                    batch_images=setting['batch_images'], long_tail=setting['long_tail'],
                )  # fmt: skip
                job = dict(
                    common, config_dir=config_dir, stem=stem, long_tailed=dist == 'long-tailed',
                    seed=seed, threads=threads, key=key, method=method, dist=dist,
                )  # fmt: skip
                path = osp.join(
                    work_dir, 'runs', run_name(stem, job['long_tailed'], seed) + '.json'
                )
                done = _load_done(path, key)
                if done is None:
                    pending.append(job)
                else:
                    results[method][dist][seed] = done
    total = len(rows) * len(DISTRIBUTIONS) * len(seeds)
    start = time.time()
    finished = total - len(pending)
    if log is not None and finished:
        log(f'resuming: {finished} of {total} runs already in {osp.join(work_dir, "runs")}')
    if not train:
        pending = []

    def record(job, run):
        nonlocal finished
        finished += 1
        results[job['method']][job['dist']][job['seed']] = run
        if log is not None:
            elapsed = time.time() - start
            left = total - finished
            eta = elapsed / max(1, finished - (total - len(pending))) * left
            log(
                f'[{finished}/{total}] {job["method"]:16s} {job["dist"]:11s} seed {job["seed"]}: '
                f'accuracy {run["accuracy"]:.1f} (non-rel {run["non_relational"]:.1f}, rel '
                f'{run["relational"]:.1f}), shuffled colour {run["shuffled"]["accuracy"]:.1f}, '
                f'{run["seconds"]:.0f} s; elapsed {elapsed / 60:.1f} min, about '
                f'{eta / 60:.0f} min left'
            )

    if jobs == 1 or len(pending) <= 1:
        for job in pending:
            record(job, run_one(job))
    else:
        # spawn: fresh interpreters, no forked torch/OpenMP state
        context = multiprocessing.get_context('spawn')
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {pool.submit(run_one, job): job for job in pending}
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in done:
                    record(futures.pop(future), future.result())

    results = {
        method: {dist: [runs[s] for s in seeds if s in runs] for dist, runs in by_dist.items()}
        for method, by_dist in results.items()
    }
    setting['wall_seconds'] = round(time.time() - start, 1)
    setting['run_seconds'] = round(
        sum(
            r['seconds'] for by_dist in results.values() for runs in by_dist.values() for r in runs
        ),
        1,
    )
    table = make_table(results, rows, seeds)
    type_table = make_type_table(results, rows)
    colour_table = make_colour_table(results, rows)
    colour_tables = {
        family: make_colour_table(results, rows, family)
        for family in ('non_relational', 'relational')
    }
    header = (
        f'Sort-of-CLEVR, {setting["train_images"]} train / {setting["test_images"]} test images, '
        f'{setting["iters"]} iterations of {setting["batch_images"]} images x '
        f'{setting["questions_per_image"]} questions; long tail: {long_tail_target} ~ '
        f'rank^-{exponent:g}; test split balanced. {jobs} processes x {threads} thread(s); '
        f'wall {setting["wall_seconds"] / 60:.1f} min this call, runs '
        f'{setting["run_seconds"] / 60:.1f} min in all.'
    )
    text = [
        header, '', table, '',
        f'"Shuffled colour": test accuracy when each question names a random other colour (the '
        f'answers stay those of the asked one); "Uses colour": no when that costs less than '
        f'{COLOUR_BLIND_MARGIN:g} points.', '',
        'Accuracy per question type:', '', type_table, '',
        'Accuracy per asked colour (long-tail rank order: red is the frequent one), all questions:',
        '', colour_table, '',
        'Per asked colour, non-relational questions:', '', colour_tables['non_relational'], '',
        'Per asked colour, relational questions:', '', colour_tables['relational'], '',
    ]  # fmt: skip
    with open(osp.join(work_dir, 'table1.md'), 'w') as f:
        f.write('\n'.join(text))
    paper = {m: dict(zip(DISTRIBUTIONS, p)) for m, _, p in rows if p is not None}
    with open(osp.join(work_dir, 'table1.json'), 'w') as f:
        json.dump(dict(setting=setting, results=results, paper=paper), f, indent=2)
    return dict(
        setting=setting, results=results, paper=paper, table=table, type_table=type_table,
        colour_table=colour_table, header=header,
    )  # fmt: skip
