"""A visualizer for mmseg's hooks and ``tools/test.py --show-dir`` that draws every task."""

from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.visualization import Visualizer
from mmseg.registry import VISUALIZERS

from .panels import render_multitask_panel, save_panel

__all__ = ['MultiTaskLocalVisualizer']


@VISUALIZERS.register_module()
class MultiTaskLocalVisualizer(Visualizer):
    """Draws one panel per sample: a row per task with the image, its ground truth and prediction.

    It accepts the call of mmseg's ``SegVisualizationHook`` (``add_datasample(name, image,
    data_sample, draw_gt, draw_pred, show, wait_time, out_file, step)``), so a config only swaps the
    visualizer::

        visualizer = dict(type='MultiTaskLocalVisualizer',
                          vis_backends=[dict(type='LocalVisBackend')], name='visualizer')

    and ``tools/test.py --show-dir DIR`` stores panels through the vis backends. Drawing conventions
    are those of :mod:`mmkem.visualization.panels`; segmentation colours come from ``palettes``,
    then the dataset meta (``<task>_palette``, ``palette``), then the PASCAL VOC colour map.

    Args:
        name (str): Instance name. Defaults to 'visualizer'.
        image (np.ndarray, optional): Image to draw on. Defaults to None.
        vis_backends (list[dict], optional): Visual backend configs. Defaults to None.
        save_dir (str, optional): Directory of the backends' files. Defaults to None.
        tasks (Sequence[str], optional): Tasks to draw, in order. Defaults to None (the sample's
            ``tasks`` meta key, else every task with a field on the sample).
        palettes (dict, optional): Task -> (C, 3) RGB palette. Defaults to None.
        title_height (int): Height of the tiles' title bars in pixels. Defaults to 24.
    """

    def __init__(
        self,
        name: str = 'visualizer',
        image: Optional[np.ndarray] = None,
        vis_backends: Optional[List[Dict]] = None,
        save_dir: Optional[str] = None,
        tasks: Optional[Sequence[str]] = None,
        palettes: Optional[Dict[str, Sequence]] = None,
        title_height: int = 24,
        **kwargs,
    ) -> None:
        super().__init__(name, image, vis_backends, save_dir, **kwargs)
        if title_height < 1:
            raise ValueError(f'title_height must be >= 1, got {title_height}')
        self.tasks = list(tasks) if tasks else None
        self.palettes = dict(palettes or {})
        self.title_height = int(title_height)

    def add_datasample(
        self,
        name: str,
        image: Optional[np.ndarray],
        data_sample=None,
        draw_gt: bool = True,
        draw_pred: bool = True,
        show: bool = False,
        wait_time: float = 0,
        out_file: Optional[str] = None,
        step: int = 0,
        with_labels: bool = True,
    ) -> np.ndarray:
        """Draw the panel of ``data_sample``; show it, write it to ``out_file`` or to the backends.

        Args:
            name (str): Image identifier (the backends' file name).
            image (np.ndarray, optional): The original image, (H, W, 3) uint8 RGB.
            data_sample (SegDataSample | dict, optional): Ground truth and predictions of the tasks.
                Defaults to None (only the image).
            draw_gt (bool): Draw ground truth. Defaults to True.
            draw_pred (bool): Draw predictions. Defaults to True.
            show (bool): Show the panel in a window. Defaults to False.
            wait_time (float): Seconds to show it. Defaults to 0.
            out_file (str, optional): Write the panel there instead of to the backends.
                Defaults to None.
            step (int): Global step of the backends. Defaults to 0.
            with_labels (bool): Accepted for mmseg's signature; tile titles are always drawn.

        Returns:
            np.ndarray: The panel, (n_tasks * (H + title_height), (1 + draw_gt + draw_pred) * W, 3)
            uint8 RGB.
        """
        if data_sample is None:
            if image is None:
                raise ValueError('add_datasample needs an image or a data_sample')
            panel = image
        else:
            panel = render_multitask_panel(
                image,
                data_sample,
                self.tasks,
                self.palettes,
                self.dataset_meta,
                draw_gt,
                draw_pred,
                self.title_height,
            )
        self.set_image(panel)
        if show:
            self.show(panel, win_name=name, wait_time=wait_time)
        if out_file is not None:  # any process: each writes the panels of its own samples
            save_panel(panel, out_file)
        else:  # the vis backends (mmengine writes from the main process only)
            self.add_image(name, panel, step)
        return panel
