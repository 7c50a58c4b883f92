"""The paper's Table 1: KEM and sKEM on Sort-of-CLEVR, balanced and long-tailed training sets.

Trains each setting over the given seeds with mmengine's Runner (one process, runs in sequence) on
the configs of a directory (the repository's ``configs/sort_of_clevr/``), tests on the balanced
test split, and writes the accuracy table (Markdown and JSON: mean ± std over seeds, runs, seeds)
next to the paper's numbers. The command line is ``tools/experiments/sort_of_clevr.py``
(docs/sort_of_clevr.md).

The generated data are cached under ``data_root`` and shared by all runs; the seeds change the
model's initialisation and the order of the training samples, not the data.
"""

import json
import os
import os.path as osp
import time
from typing import Callable, Dict, Optional, Sequence

from mmengine.config import Config

from mmkem.analysis.tables import format_mean_std, markdown_table, mean_std

__all__ = [
    'DISTRIBUTIONS',
    'EXTRA_METHODS',
    'METHODS',
    'METRIC_KEYS',
    'SMALL',
    'build_cfg',
    'make_table',
    'run_table1',
]

#: (row name, config stem, paper's accuracy balanced / long-tailed, or None)
METHODS = [
    ('KEM', 'kem_sort-of-clevr', (81.0, 71.0)),
    ('sKEM (task_axis)', 'skem-task-axis_sort-of-clevr', (79.0, 79.0)),
]
EXTRA_METHODS = [
    ('sKEM (feature)', 'skem-feature_sort-of-clevr', (79.0, 79.0)),
    ('CA', 'ca_sort-of-clevr', None),
]
DISTRIBUTIONS = ('balanced', 'long-tailed')
METRIC_KEYS = ('accuracy', 'non_relational', 'relational')
#: The default (small) size; the full size keeps the configs' (paper) size and schedule.
SMALL = dict(train_images=3000, test_images=200, iters=600)


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
        size (dict): ``train_images``, ``test_images``, ``iters`` overrides (missing: keep).
        data_root (str): The cache of the generated data.
        work_dir (str): The parent of the run's work dir.
        long_tail_target (str): What the long-tailed set skews. Defaults to ``'colour'``.
        exponent (float): Its power-law exponent. Defaults to 2.0.
        batch_size (int, optional): Images per training step. Defaults to None (the config's).

    Returns:
        Config: Trains ``iters`` iterations, tests once at the end, no checkpoints.
    """
    cfg = Config.fromfile(osp.join(config_dir, stem + ('-lt' if long_tailed else '') + '.py'))
    train_set = cfg.train_dataloader.dataset
    test_set = cfg.test_dataloader.dataset
    train_set.data_root = test_set.data_root = data_root
    if size.get('train_images'):
        train_set.num_images = size['train_images']
    if size.get('test_images'):
        test_set.num_images = size['test_images']
    if long_tailed:
        train_set.long_tail = dict(target=long_tail_target, exponent=exponent)
    if batch_size:
        cfg.train_dataloader.batch_size = batch_size
    iters = size.get('iters') or cfg.train_cfg.max_iters
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=iters)
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.1, begin=0, end=max(1, min(100, iters // 10)),
             by_epoch=False),
        dict(type='CosineAnnealingLR', T_max=iters, eta_min=1e-5, begin=0, end=iters,
             by_epoch=False),
    ]  # fmt: skip
    # Test once at the end, no validation during training, no checkpoints.
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = max(1, iters // 5)
    cfg.randomness = dict(seed=seed)
    name = f'{stem}{"-lt" if long_tailed else ""}_seed{seed}'
    cfg.work_dir = osp.join(work_dir, name)
    cfg.experiment_name = f'{name}_{time.strftime("%Y%m%d_%H%M%S")}'
    cfg.visualizer.name = cfg.experiment_name  # one visualizer instance per run, not a shared one
    cfg.log_level = 'WARNING'
    return cfg


def make_table(results: dict, methods, seeds) -> str:
    """The Markdown table: mean ± std over seeds (1 decimal) per method and distribution."""
    header = [
        'Model', 'Train distribution', 'Accuracy (%)', 'Non-relational', 'Relational', 'Paper',
        'Runs', 'Seeds',
    ]  # fmt: skip
    rows = []
    for method, _, paper in methods:
        for d, dist in enumerate(DISTRIBUTIONS):
            runs = results[method][dist]
            stats = {key: mean_std([r[key] for r in runs]) for key in METRIC_KEYS}
            paper_txt = '–' if paper is None else f'{paper[d]:.0f}'
            rows.append(
                [method, dist]
                + [format_mean_std(*stats[key], digits=1) for key in METRIC_KEYS]
                + [paper_txt, str(len(runs)), ', '.join(map(str, seeds))]
            )
    return '\n'.join(markdown_table(header, rows))


def run_table1(
    config_dir: str,
    seeds: Sequence[int],
    size: dict,
    data_root: str,
    work_dir: str,
    extra: bool = False,
    long_tail_target: str = 'colour',
    exponent: float = 2.0,
    batch_size: Optional[int] = None,
    command: str = '',
    log: Optional[Callable[[str], None]] = None,
) -> Dict[str, object]:
    """Train and test every method x distribution x seed; write ``table1.md`` and ``table1.json``.

    Args:
        config_dir (str): The directory of the Sort-of-CLEVR configs.
        seeds (Sequence[int]): Training seeds.
        size (dict): ``train_images``, ``test_images``, ``iters`` overrides (empty: the configs').
        data_root (str): The cache of the generated data.
        work_dir (str): One sub-directory per run, and the tables.
        extra (bool): Add the sKEM('feature') and CA rows. Defaults to False.
        long_tail_target (str): What the long-tailed set skews. Defaults to ``'colour'``.
        exponent (float): Its power-law exponent. Defaults to 2.0.
        batch_size (int, optional): Images per training step. Defaults to None (the configs').
        command (str): The command line, recorded in the setting. Defaults to ''.
        log (callable, optional): Called with a line per finished run. Defaults to None.

    Returns:
        dict: ``setting``, ``results`` (method -> distribution -> runs), ``paper``, ``table``
        (Markdown) and ``header`` (the line above the table).
    """
    from mmengine.runner import Runner

    import mmkem  # noqa: F401  (registers the dataset, model and metric)

    methods = METHODS + (EXTRA_METHODS if extra else [])
    common = dict(
        size=size, data_root=data_root, work_dir=work_dir, long_tail_target=long_tail_target,
        exponent=exponent, batch_size=batch_size,
    )  # fmt: skip
    os.makedirs(work_dir, exist_ok=True)
    results = {method: {dist: [] for dist in DISTRIBUTIONS} for method, _, _ in methods}
    start = time.time()
    for method, stem, _ in methods:
        for dist in DISTRIBUTIONS:
            for seed in seeds:
                cfg = build_cfg(config_dir, stem, dist == 'long-tailed', seed, **common)
                tic = time.time()
                runner = Runner.from_cfg(cfg)
                runner.train()
                metrics = runner.test()
                run = {key.split('/')[-1]: float(value) for key, value in metrics.items()}
                run.update(seed=seed, seconds=round(time.time() - tic, 1))
                results[method][dist].append(run)
                if log is not None:
                    log(
                        f'{method:18s} {dist:12s} seed {seed}: accuracy {run["accuracy"]:.2f} '
                        f'(non-rel {run["non_relational"]:.2f}, rel {run["relational"]:.2f}) '
                        f'in {run["seconds"]:.0f} s'
                    )
    table = make_table(results, methods, seeds)
    first = build_cfg(config_dir, methods[0][1], True, seeds[0], **common)
    setting = dict(
        train_images=first.train_dataloader.dataset.num_images,
        test_images=first.test_dataloader.dataset.num_images,
        questions_per_image=2 * first.train_dataloader.dataset.questions_per_family,
        iters=first.train_cfg.max_iters,
        batch_images=first.train_dataloader.batch_size,
        long_tail=dict(target=long_tail_target, exponent=exponent),
        test_split='balanced',
        seeds=list(seeds),
        command=command,
        total_seconds=round(time.time() - start, 1),
    )
    header = (
        f'Sort-of-CLEVR, {setting["train_images"]} train / {setting["test_images"]} test images, '
        f'{setting["iters"]} iterations of {setting["batch_images"]} images x '
        f'{setting["questions_per_image"]} questions; long tail: {long_tail_target} ~ '
        f'rank^-{exponent:g}; test split balanced. Total {setting["total_seconds"]:.0f} s.'
    )
    with open(osp.join(work_dir, 'table1.md'), 'w') as f:
        f.write(header + '\n\n' + table + '\n')
    paper = {m: dict(zip(DISTRIBUTIONS, p)) for m, _, p in methods if p is not None}
    with open(osp.join(work_dir, 'table1.json'), 'w') as f:
        json.dump(dict(setting=setting, results=results, paper=paper), f, indent=2)
    return dict(setting=setting, results=results, paper=paper, table=table, header=header)
