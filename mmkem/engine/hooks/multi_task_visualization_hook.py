"""mmseg's ``SegVisualizationHook`` for multi-task panels, written as PNG files."""

import os.path as osp
from typing import Dict, Optional, Sequence

from mmengine.logging import print_log
from mmengine.runner import BaseLoop
from mmengine.visualization import Visualizer
from mmseg.engine.hooks import SegVisualizationHook
from mmseg.registry import HOOKS

from ...visualization import MultiTaskLocalVisualizer
from ...visualization.panels import read_rgb

__all__ = ['MultiTaskVisualizationHook']


def _trained_iter(runner) -> int:
    """The training iteration, without building a train loop that does not exist (testing)."""
    loop = getattr(runner, '_train_loop', None)
    if isinstance(loop, BaseLoop):
        return loop.iter
    if hasattr(runner, '_train_loop'):  # a config not built yet: no training happened
        return 0
    return int(getattr(runner, 'iter', 0))


@HOOKS.register_module()
class MultiTaskVisualizationHook(SegVisualizationHook):
    """Save a panel (image, ground truth and prediction of every task) for the first samples.

    mmseg's ``SegVisualizationHook`` with the options a multi-task run wants: it draws with the
    runner's visualizer when that is a :class:`~mmkem.visualization.MultiTaskLocalVisualizer`
    (else with one of its own; the drawing is the visualizer's, in one place) and writes plain
    PNG files: ``<out_dir>/val_iter<N>/<image>.png`` after each validation (N: training
    iteration) and ``<out_dir>/test/<image>.png`` after testing. Every process writes the panels
    of the samples it evaluates, so a distributed test paints every image once.

    Args:
        out_dir (str, optional): Where the panels go. Defaults to None
            (``<runner.log_dir>/panels``).
        max_samples (int, optional): Panels per run and process (the first samples of the
            loader); None paints every sample (``tools/test.py --show-dir``). Defaults to 8.
        tasks (Sequence[str], optional): Tasks to draw. Defaults to None (the sample's ``tasks``).
        palettes (dict, optional): Task -> RGB palette. Defaults to None (dataset meta, then
            default).
        draw_gt (bool): Draw ground truth. Defaults to True.
        on_val (bool): Write panels during validation. Defaults to True.
        on_test (bool): Write panels during testing. Defaults to True.
        interval (int): Draw the samples of every ``interval``-th batch. Defaults to 1.
        backend_args (dict, optional): mmengine file backend arguments to read the images.
            Defaults to None.
    """

    priority = 'NORMAL'

    def __init__(
        self,
        out_dir: Optional[str] = None,
        max_samples: Optional[int] = 8,
        tasks: Optional[Sequence[str]] = None,
        palettes: Optional[Dict[str, Sequence]] = None,
        draw_gt: bool = True,
        on_val: bool = True,
        on_test: bool = True,
        interval: int = 1,
        backend_args: Optional[dict] = None,
    ) -> None:
        # SegVisualizationHook's own attributes; its __init__ also fetches the current visualizer,
        # which this hook does when it first draws (there is none before the runner exists).
        if max_samples is not None and max_samples < 0:
            raise ValueError(f'max_samples must be >= 0 or None, got {max_samples}')
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.draw = True
        self.show = False
        self.wait_time = 0.0
        self.interval = int(interval)
        self.backend_args = backend_args.copy() if backend_args else None
        self.out_dir = out_dir
        self.max_samples = float('inf') if max_samples is None else int(max_samples)
        self.tasks = list(tasks) if tasks else None
        self.palettes = dict(palettes or {})
        self.draw_gt = draw_gt
        self.enabled = dict(val=on_val, test=on_test)
        self._count = 0
        self._subdir = ''
        self._own_visualizer: Optional[MultiTaskLocalVisualizer] = None
        self.written = []

    @property
    def _visualizer(self) -> MultiTaskLocalVisualizer:
        """The runner's visualizer if it draws multi-task panels, else this hook's own."""
        try:
            current = Visualizer.get_current_instance()
        except RuntimeError:
            current = None
        if isinstance(current, MultiTaskLocalVisualizer) and not self.tasks and not self.palettes:
            return current
        if self._own_visualizer is None:
            # Built directly, not through get_instance: it must not become the current instance.
            self._own_visualizer = MultiTaskLocalVisualizer(
                name='multi_task_visualization_hook', tasks=self.tasks, palettes=self.palettes
            )
        return self._own_visualizer

    def _before_epoch(self, runner, mode: str = 'train') -> None:
        self._count = 0
        self._subdir = f'val_iter{_trained_iter(runner)}' if mode == 'val' else 'test'

    def _dataset_meta(self, runner, mode: str) -> Optional[dict]:
        loader = getattr(runner, f'{mode}_dataloader', None)
        return getattr(getattr(loader, 'dataset', None), 'metainfo', None)

    def _after_iter(self, runner, batch_idx: int, data_batch=None, outputs=None, mode='val'):
        if mode not in self.enabled or not self.enabled[mode] or not outputs:
            return
        if self._count >= self.max_samples or not self.every_n_inner_iters(
            batch_idx, self.interval
        ):
            return
        out_dir = osp.join(self.out_dir or osp.join(runner.log_dir, 'panels'), self._subdir)
        visualizer = self._visualizer
        meta = self._dataset_meta(runner, mode)
        if meta is not None:
            visualizer.dataset_meta = meta
        if self._count == 0:
            count = (
                'a panel of every sample'
                if self.max_samples == float('inf')
                else f'up to {self.max_samples} panels'
            )
            print_log(
                f'MultiTaskVisualizationHook: writing {count} to {out_dir}',
                logger='current',
            )
        for sample in outputs:
            if self._count >= self.max_samples:
                break
            img_path = sample.metainfo.get('img_path')
            image = None
            if img_path and osp.isfile(img_path):
                image = read_rgb(img_path, backend_args=self.backend_args)
            stem = osp.splitext(osp.basename(img_path))[0] if img_path else f'{self._count:05d}'
            out_file = osp.join(out_dir, f'{stem}.png')
            visualizer.add_datasample(
                stem, image, data_sample=sample, draw_gt=self.draw_gt, out_file=out_file
            )
            self.written.append(out_file)
            self._count += 1
