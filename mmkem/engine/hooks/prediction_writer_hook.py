"""Write every task's prediction of every test image to files (``tools/test.py --out DIR``)."""

from typing import List, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

from mmkem.structures import TASK_SPECS
from mmkem.utils.prediction_io import image_stem, predictions_of, save_predictions

__all__ = ['MultiTaskPredictionWriterHook']


@HOOKS.register_module()
class MultiTaskPredictionWriterHook(Hook):
    """Save the test (or validation) predictions as ``<out_dir>/<task>/<stem>.<ext>``.

    The files are those of :mod:`mmkem.utils.prediction_io` (each task in its kind's format:
    label PNGs of train ids, depth as 16-bit millimetre PNG and ``.npy`` metres, normals ``.npy``
    and an RGB PNG, saliency and edges as 8-bit probability PNGs and ``.npy``), named after each
    sample's ``img_path``. Every process writes the samples it evaluates, so a distributed test
    writes every image once.

    Args:
        out_dir (str): Root of the files.
        tasks (Sequence[str], optional): Tasks to write. Defaults to None (the sample's ``tasks``
            meta key, else the model's tasks, else those whose prediction is on the sample).
        on_val (bool): Also write during validation (overwriting, each time). Defaults to False.
        on_test (bool): Write during testing. Defaults to True.
    """

    priority = 'NORMAL'

    def __init__(
        self,
        out_dir: str,
        tasks: Optional[Sequence[str]] = None,
        on_val: bool = False,
        on_test: bool = True,
    ) -> None:
        if not out_dir:
            raise ValueError('MultiTaskPredictionWriterHook needs an out_dir')
        self.out_dir = out_dir
        self.tasks = list(tasks) if tasks else None
        self.enabled = dict(val=on_val, test=on_test)
        self.written: List[str] = []
        self._count = 0

    def _tasks(self, runner, sample) -> List[str]:
        if self.tasks:
            return self.tasks
        tasks = sample.metainfo.get('tasks')
        if tasks:
            return list(tasks)
        model = getattr(runner.model, 'module', runner.model)
        if getattr(model, 'tasks', None):
            return list(model.tasks)
        # a plain mmseg model: the tasks whose prediction is on the sample (pred_sem_seg: semseg)
        return [name for name, spec in TASK_SPECS.items() if spec.pred_field in sample]

    def _before_epoch(self, runner, mode: str = 'train') -> None:
        self._count = 0
        if self.enabled.get(mode, False):
            print_log(
                f'MultiTaskPredictionWriterHook: writing the {mode} predictions to '
                f'{self.out_dir}/<task>/',
                logger='current',
            )

    def _after_iter(self, runner, batch_idx: int, data_batch=None, outputs=None, mode='train'):
        if not self.enabled.get(mode, False) or not outputs:
            return
        for sample in outputs:
            stem = image_stem(sample.metainfo.get('img_path'), self._count)
            preds = predictions_of(sample, self._tasks(runner, sample))
            for files in save_predictions(preds, self.out_dir, stem).values():
                self.written.extend(files)
            self._count += 1
