"""The paper's Table 1: KEM and sKEM on Sort-of-CLEVR, balanced and long-tailed training sets.

Trains each setting over the given seeds with mmengine's Runner (one process, runs in sequence) on
the configs in configs/sort_of_clevr/, tests on the balanced test split, and writes the accuracy
table (Markdown and JSON: mean +- std over seeds, runs, seeds) next to the paper's numbers.

    python tools/experiments/sort_of_clevr.py                # small default (2 CPU cores)
    python tools/experiments/sort_of_clevr.py --full         # the paper's size (9,800 images)
    python tools/experiments/sort_of_clevr.py --extra --seeds 0 1 2  # + sKEM('feature'), CA

The generated data are cached under --data-root and shared by all runs; the seeds change the
model's initialisation and the order of the training samples, not the data.
"""

import argparse
import json
import os
import os.path as osp
import sys
import time

# Find mmkem from a source checkout without PYTHONPATH or `pip install -e .`.
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mmkem  # noqa: E402,F401  (registers the dataset, model and metric)

CONFIG_DIR = osp.join(REPO, 'configs', 'sort_of_clevr')
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
#: The default (small) size; --full keeps the configs' (paper) size and schedule.
SMALL = dict(train_images=3000, test_images=200, iters=600)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0], help='training seeds')
    parser.add_argument(
        '--full', action='store_true', help="the paper's data size and our schedule"
    )
    parser.add_argument('--extra', action='store_true', help="add sKEM('feature') and CA rows")
    parser.add_argument('--train-images', type=int, help='override the number of training images')
    parser.add_argument('--test-images', type=int, help='override the number of test images')
    parser.add_argument('--iters', type=int, help='override the training iterations')
    parser.add_argument('--batch-size', type=int, help='override the images per training step')
    parser.add_argument(
        '--long-tail-target', choices=('colour', 'subtype'), default='colour',
        help='what the long-tailed training set skews',
    )  # fmt: skip
    parser.add_argument('--exponent', type=float, default=2.0, help='power-law exponent')
    parser.add_argument('--data-root', default=osp.join(REPO, 'data', 'sort_of_clevr'))
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'sort_of_clevr'))
    parser.add_argument('--threads', type=int, default=1, help='torch intra-op threads')
    return parser.parse_args(argv)


def build_cfg(stem: str, long_tailed: bool, seed: int, args, size: dict) -> Config:
    """The config of one run, from ``configs/sort_of_clevr/<stem>[-lt].py`` plus the overrides."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, stem + ('-lt' if long_tailed else '') + '.py'))
    train_set = cfg.train_dataloader.dataset
    test_set = cfg.test_dataloader.dataset
    train_set.data_root = test_set.data_root = args.data_root
    if size.get('train_images'):
        train_set.num_images = size['train_images']
    if size.get('test_images'):
        test_set.num_images = size['test_images']
    if long_tailed:
        train_set.long_tail = dict(target=args.long_tail_target, exponent=args.exponent)
    if args.batch_size:
        cfg.train_dataloader.batch_size = args.batch_size
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
    cfg.work_dir = osp.join(args.work_dir, name)
    cfg.experiment_name = f'{name}_{time.strftime("%Y%m%d_%H%M%S")}'
    cfg.visualizer.name = cfg.experiment_name  # one visualizer instance per run, not a shared one
    cfg.log_level = 'WARNING'
    return cfg


def mean_std(values):
    values = np.asarray(values, dtype=np.float64)
    std = float(values.std(ddof=1)) if len(values) > 1 else float('nan')
    return float(values.mean()), std


def fmt(mean, std):
    return f'{mean:.1f}' if np.isnan(std) else f'{mean:.1f} ± {std:.1f}'


def make_table(results: dict, methods, seeds) -> str:
    lines = [
        '| Model | Train distribution | Accuracy (%) | Non-relational | Relational | Paper | Runs '
        '| Seeds |',
        '|---|---|---|---|---|---|---|---|',
    ]
    for method, _, paper in methods:
        for d, dist in enumerate(DISTRIBUTIONS):
            runs = results[method][dist]
            stats = {key: mean_std([r[key] for r in runs]) for key in METRIC_KEYS}
            paper_txt = '–' if paper is None else f'{paper[d]:.0f}'
            lines.append(
                f'| {method} | {dist} | {fmt(*stats["accuracy"])} | '
                f'{fmt(*stats["non_relational"])} | {fmt(*stats["relational"])} | {paper_txt} | '
                f'{len(runs)} | {", ".join(map(str, seeds))} |'
            )
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    size = {} if args.full else dict(SMALL)
    for key in ('train_images', 'test_images', 'iters'):
        if getattr(args, key) is not None:
            size[key] = getattr(args, key)
    methods = METHODS + (EXTRA_METHODS if args.extra else [])
    os.makedirs(args.work_dir, exist_ok=True)
    results = {method: {dist: [] for dist in DISTRIBUTIONS} for method, _, _ in methods}
    start = time.time()
    for method, stem, _ in methods:
        for dist in DISTRIBUTIONS:
            for seed in args.seeds:
                cfg = build_cfg(stem, dist == 'long-tailed', seed, args, size)
                tic = time.time()
                runner = Runner.from_cfg(cfg)
                runner.train()
                metrics = runner.test()
                run = {key.split('/')[-1]: float(value) for key, value in metrics.items()}
                run.update(seed=seed, seconds=round(time.time() - tic, 1))
                results[method][dist].append(run)
                print(
                    f'{method:18s} {dist:12s} seed {seed}: accuracy {run["accuracy"]:.2f} '
                    f'(non-rel {run["non_relational"]:.2f}, rel {run["relational"]:.2f}) '
                    f'in {run["seconds"]:.0f} s',
                    flush=True,
                )
    table = make_table(results, methods, args.seeds)
    first = build_cfg(methods[0][1], True, args.seeds[0], args, size)
    setting = dict(
        train_images=first.train_dataloader.dataset.num_images,
        test_images=first.test_dataloader.dataset.num_images,
        questions_per_image=2 * first.train_dataloader.dataset.questions_per_family,
        iters=first.train_cfg.max_iters,
        batch_images=first.train_dataloader.batch_size,
        long_tail=dict(target=args.long_tail_target, exponent=args.exponent),
        test_split='balanced',
        seeds=args.seeds,
        command='python ' + ' '.join([osp.relpath(__file__, REPO)] + sys.argv[1:]),
        total_seconds=round(time.time() - start, 1),
    )
    header = (
        f'Sort-of-CLEVR, {setting["train_images"]} train / {setting["test_images"]} test images, '
        f'{setting["iters"]} iterations of {setting["batch_images"]} images x '
        f'{setting["questions_per_image"]} questions; long tail: {args.long_tail_target} ~ '
        f'rank^-{args.exponent:g}; test split balanced. Total {setting["total_seconds"]:.0f} s.'
    )
    with open(osp.join(args.work_dir, 'table1.md'), 'w') as f:
        f.write(header + '\n\n' + table + '\n')
    paper = {m: dict(zip(DISTRIBUTIONS, p)) for m, _, p in methods if p is not None}
    with open(osp.join(args.work_dir, 'table1.json'), 'w') as f:
        json.dump(dict(setting=setting, results=results, paper=paper), f, indent=2)
    print(header + '\n\n' + table)
    print(f'written to {osp.join(args.work_dir, "table1.md")} and table1.json')


if __name__ == '__main__':
    main()
