"""Writes multi-task PNG panels of the first samples of each validation and test run."""

import os.path as osp
from typing import Dict, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

from ...visualization.panels import read_rgb, render_multitask_panel, save_panel

__all__ = ['MultiTaskVisualizationHook']


@HOOKS.register_module()
class MultiTaskVisualizationHook(Hook):
    """Save a panel (image, ground truth and prediction of every task) for the first samples.

    Unlike mmseg's ``SegVisualizationHook``, it needs no visualizer in the config and writes plain
    PNG files: ``<out_dir>/val_iter<N>/<image>.png`` after each validation (N: training iteration)
    and ``<out_dir>/test/<image>.png`` after testing.

    Args:
        out_dir (str, optional): Where the panels go. Defaults to None
            (``<runner.log_dir>/panels``).
        max_samples (int): Panels per run (the first samples of the loader). Defaults to 8.
        tasks (Sequence[str], optional): Tasks to draw. Defaults to None (the sample's ``tasks``).
        palettes (dict, optional): Task -> RGB palette. Defaults to None (dataset meta, then
            default).
        draw_gt (bool): Draw ground truth. Defaults to True.
        on_val (bool): Write panels during validation. Defaults to True.
        on_test (bool): Write panels during testing. Defaults to True.
    """

    priority = 'NORMAL'

    def __init__(
        self,
        out_dir: Optional[str] = None,
        max_samples: int = 8,
        tasks: Optional[Sequence[str]] = None,
        palettes: Optional[Dict[str, Sequence]] = None,
        draw_gt: bool = True,
        on_val: bool = True,
        on_test: bool = True,
    ) -> None:
        if max_samples < 0:
            raise ValueError(f'max_samples must be >= 0, got {max_samples}')
        self.out_dir = out_dir
        self.max_samples = int(max_samples)
        self.tasks = list(tasks) if tasks else None
        self.palettes = dict(palettes or {})
        self.draw_gt = draw_gt
        self.enabled = dict(val=on_val, test=on_test)
        self._count = 0
        self._subdir = ''
        self.written = []

    def _start(self, runner, mode: str) -> None:
        self._count = 0
        self._subdir = f'val_iter{runner.iter}' if mode == 'val' else 'test'

    def before_val_epoch(self, runner) -> None:
        self._start(runner, 'val')

    def before_test_epoch(self, runner) -> None:
        self._start(runner, 'test')

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._draw(runner, outputs, 'val')

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._draw(runner, outputs, 'test')

    def _dataset_meta(self, runner, mode: str) -> Optional[dict]:
        loader = getattr(runner, f'{mode}_dataloader', None)
        return getattr(getattr(loader, 'dataset', None), 'metainfo', None)

    def _draw(self, runner, outputs, mode: str) -> None:
        if not self.enabled[mode] or not outputs or self._count >= self.max_samples:
            return
        if runner.rank != 0:
            return
        out_dir = osp.join(self.out_dir or osp.join(runner.log_dir, 'panels'), self._subdir)
        meta = self._dataset_meta(runner, mode)
        if self._count == 0:
            print_log(
                f'MultiTaskVisualizationHook: writing up to {self.max_samples} panels to {out_dir}',
                logger='current',
            )
        for sample in outputs:
            if self._count >= self.max_samples:
                break
            img_path = sample.metainfo.get('img_path')
            image = read_rgb(img_path) if img_path and osp.isfile(img_path) else None
            stem = osp.splitext(osp.basename(img_path))[0] if img_path else f'{self._count:05d}'
            panel = render_multitask_panel(
                image, sample, self.tasks, self.palettes, meta, draw_gt=self.draw_gt
            )
            self.written.append(save_panel(panel, osp.join(out_dir, f'{stem}.png')))
            self._count += 1
