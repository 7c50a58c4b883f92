"""Predict every task of a trained model on images: mmseg's ``MMSegInferencer`` for many tasks.

::

    from mmkem.apis import MultiTaskInferencer
    inferencer = MultiTaskInferencer('configs/demo/kem_effnet-lite0_nyud-demo.py',
                                     'work_dirs/demo/iter_300.pth', device='cpu')
    result = inferencer('photo.jpg', out_dir='outputs')
    result['predictions']['depth']          # (H, W) float32 metres

``out_dir`` receives ``pred/<task>/<image>.<ext>`` (the prediction files of
:mod:`mmkem.utils.prediction_io`), ``vis/<task>/<image>.png`` (one picture per task:
:mod:`mmkem.visualization.task_pictures`) and ``panels/<image>.png`` (the image and every task).
"""

import copy
import os.path as osp
import warnings
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.infer.infer import BaseInferencer
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model
from mmseg.registry import DATASETS, INFERENCERS, MODELS

from mmkem.engine import check_checkpoint_matches, fill_task_config
from mmkem.structures import check_task_list, task_classes
from mmkem.utils.image_io import read_image
from mmkem.utils.prediction_io import image_stem, predictions_of, save_predictions
from mmkem.visualization.panels import palette_for, save_panel
from mmkem.visualization.task_pictures import prediction_panel, render_prediction

from .inputs import list_images, resolve_config

__all__ = ['MultiTaskInferencer']

#: Transforms of a test pipeline that load ground truth or the image file (the inferencer reads
#: the image itself and has no ground truth).
_LOADERS = ('LoadImageFromFile', 'LoadMultiTaskAnnotations', 'LoadAnnotations')


@INFERENCERS.register_module()
class MultiTaskInferencer(BaseInferencer):
    """Predictions of every task of a trained mmkem model on images, with pictures and files.

    Built on mmengine's ``BaseInferencer`` as mmseg's ``MMSegInferencer``: call it on an image
    path, a folder (its images, sorted by name), a list of paths, or (H, W, 3) uint8 BGR arrays
    (OpenCV's order, as ``mmcv.imread`` returns them). Images go through the config's test
    pipeline without its loading steps, in batches of ``batch_size``, with a progress bar.

    Args:
        model (str | Config | dict, optional): Config file, config name (searched for under
            ``config_dirs``) or config; None reads the config saved in the checkpoint.
            The config's ``tasks`` / ``num_classes`` are filled in
            (:func:`mmkem.engine.fill_task_config`) before the model is built.
        weights (str, optional): Checkpoint. It must hold exactly the model's weights
            (:func:`mmkem.engine.check_checkpoint_matches`). Defaults to None: an untrained
            model, with a warning.
        tasks (Sequence[str], optional): Tasks to return, picture and write. Defaults to None
            (all the model's tasks).
        device (str, optional): ``'cpu'``, ``'cuda'`` or ``'cuda:N'``. Defaults to None (a GPU
            when there is one).
        test_cfg (dict, optional): Overrides of the model's ``test_cfg``: ``mode='slide'`` with
            ``crop_size`` / ``stride``, ``flip=True`` (see
            :func:`mmkem.models.segmentors.check_test_cfg`). Defaults to None.
        palettes (dict, optional): Task -> RGB palette of a label task. Defaults to None (the
            dataset's, saved in the checkpoint).
        config_dirs (Sequence[str]): Where config names are looked up. Defaults to
            ``('configs',)`` (of the working directory).
        scope (str): Registry scope. Defaults to ``'mmseg'``.
        show_progress (bool): Show a progress bar. Defaults to True.

    Raises:
        FileNotFoundError: The config or checkpoint does not exist.
        CheckpointMismatchError: The checkpoint is another model's.
        ValueError: A task the model does not have; an unknown ``test_cfg`` key.
    """

    preprocess_kwargs: set = set()
    forward_kwargs: set = set()
    visualize_kwargs: set = {'show', 'wait_time', 'img_out_dir', 'panel_out_dir', 'return_vis'}
    postprocess_kwargs: set = {'pred_out_dir', 'return_datasample'}

    def __init__(
        self,
        model=None,
        weights: Optional[str] = None,
        tasks: Optional[Sequence[str]] = None,
        device: Optional[str] = None,
        test_cfg: Optional[dict] = None,
        palettes: Optional[Mapping[str, Sequence]] = None,
        config_dirs: Sequence[str] = ('configs',),
        scope: str = 'mmseg',
        show_progress: bool = True,
    ) -> None:
        init_default_scope(scope)
        if weights is not None and '://' not in weights and not osp.isfile(weights):
            raise FileNotFoundError(f'checkpoint {weights} does not exist')
        if model is None:
            if weights is None:
                raise ValueError('MultiTaskInferencer needs a config (model=...) or a checkpoint')
            cfg = self._config_of_checkpoint(weights)
        else:
            cfg = resolve_config(model, config_dirs)
        self._config_name = model if isinstance(model, str) else None
        cfg = fill_task_config(cfg)
        # the inferencer keeps only the predictions (the raw outputs of a 40-class map at full
        # size are large), unless test_cfg asks otherwise
        cfg.model['test_cfg'] = {
            'keep_logits': False,
            **(cfg.model.get('test_cfg', None) or {}),
            **(test_cfg or {}),
        }
        if device is not None and device.startswith('cuda') and not torch.cuda.is_available():
            raise ValueError(f'device {device!r}: no GPU is visible; use device="cpu"')
        self.palettes = dict(palettes or {})
        super().__init__(model=cfg, weights=weights, device=device, scope=scope)
        self.show_progress = show_progress
        if device == 'cpu' or not torch.cuda.is_available():
            self.model = revert_sync_batchnorm(self.model)
        self.tasks = self._check_tasks(tasks)
        self._stems: List[str] = []

    # ------------------------------------------------------------------ building
    @staticmethod
    def _config_of_checkpoint(weights: str) -> Config:
        meta = _load_checkpoint(weights, map_location='cpu').get('meta', {})
        if 'cfg' not in meta:
            raise ValueError(f'checkpoint {weights} holds no config; pass the config (model=...)')
        return Config.fromstring(meta['cfg'], file_format='.py')

    def _check_tasks(self, tasks: Optional[Sequence[str]]) -> List[str]:
        model_tasks = list(self.model.tasks)
        if tasks is None:
            return model_tasks
        tasks = check_task_list(tasks, 'tasks', known=False)
        missing = [t for t in tasks if t not in model_tasks]
        if missing:
            raise ValueError(f'the model has no task {missing}: its tasks are {model_tasks}')
        return tasks

    def _init_model(self, cfg, weights: Optional[str], device: str = 'cpu') -> torch.nn.Module:
        model = MODELS.build(cfg.model)
        if not hasattr(model, 'tasks'):
            raise ValueError(
                f'MultiTaskInferencer needs an mmkem multi-task model, got {type(model).__name__}'
            )
        model.cfg = cfg
        checkpoint = None
        if weights is not None:
            check_checkpoint_matches(model, weights, self._config_name)
            checkpoint = _load_checkpoint(weights, map_location='cpu')
            _load_checkpoint_to_model(model, checkpoint)
        else:
            warnings.warn(
                'MultiTaskInferencer: no checkpoint, the model is untrained', stacklevel=3
            )
        model.dataset_meta = self._dataset_meta(cfg, checkpoint)
        return model.to(device).eval()

    @staticmethod
    def _dataset_meta(cfg, checkpoint: Optional[dict]) -> dict:
        """Class names and palettes: saved in the checkpoint, else the test dataset's METAINFO."""
        saved = (checkpoint or {}).get('meta', {}).get('dataset_meta')
        if saved:
            return dict(saved)
        dataset = cfg.get('test_dataloader', {}).get('dataset', {})
        cls = DATASETS.get(dataset.get('type')) if isinstance(dataset.get('type'), str) else None
        return dict(getattr(cls, 'METAINFO', {}) or {})

    def _init_pipeline(self, cfg) -> Compose:
        dataset = cfg.get('test_dataloader', {}).get('dataset', {})
        pipeline = dataset.get('pipeline') or cfg.get('test_pipeline')
        if not pipeline:
            raise ValueError('the config has no test pipeline (test_dataloader.dataset.pipeline)')
        return Compose([t for t in copy.deepcopy(pipeline) if t['type'] not in _LOADERS])

    def _init_visualizer(self, cfg):
        """No mmengine visualizer: pictures come from :mod:`mmkem.visualization.task_pictures`."""
        return None

    def _init_collate(self, cfg):
        return pseudo_collate

    # ------------------------------------------------------------------ inputs
    def _inputs_to_list(self, inputs) -> list:
        """Paths, folders (their images) and arrays as one list; missing paths are errors."""
        items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        out = []
        for i, item in enumerate(items):
            if isinstance(item, str):
                if osp.isdir(item):
                    out.extend(list_images(item))
                elif not osp.isfile(item):
                    raise FileNotFoundError(f'input image {item} does not exist')
                else:
                    out.append(item)
            elif isinstance(item, np.ndarray):
                if item.ndim != 3 or item.shape[-1] != 3 or item.dtype != np.uint8:
                    raise ValueError(
                        f'inputs[{i}]: expected an (H, W, 3) uint8 BGR image array, got shape '
                        f'{item.shape} and dtype {item.dtype}'
                    )
                out.append(item)
            else:
                raise TypeError(f'inputs[{i}]: expected an image path, a folder or an array')
        return out

    def _stems_of(self, inputs: list, names: Optional[Sequence[str]]) -> List[str]:
        if names is not None:
            if len(names) != len(inputs):
                raise ValueError(f'names has {len(names)} entries for {len(inputs)} images')
            return [str(n) for n in names]
        stems, seen = [], {}
        for i, item in enumerate(inputs):
            stem = image_stem(item, i) if isinstance(item, str) else f'array_{i:05d}'
            seen[stem] = seen.get(stem, 0) + 1
            stems.append(stem if seen[stem] == 1 else f'{stem}_{seen[stem] - 1}')
        return stems

    @staticmethod
    def _read(item) -> np.ndarray:
        """The image as (H, W, 3) uint8 BGR."""
        return item if isinstance(item, np.ndarray) else read_image(item, channel_order='bgr')

    def _load(self, item) -> dict:
        img = self._read(item)
        results = dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        if isinstance(item, str):
            results['img_path'] = item
        return self.pipeline(results)

    def preprocess(self, inputs: list, batch_size: int = 1, **kwargs):
        """Read each image (errors name the file), run the pipeline, yield collated batches."""
        yield from map(self.collate_fn, self._get_chunk_data(map(self._load, inputs), batch_size))

    # ------------------------------------------------------------------ call
    def __call__(
        self,
        inputs,
        return_datasamples: bool = False,
        batch_size: int = 1,
        return_vis: bool = False,
        show: bool = False,
        wait_time: float = 0,
        out_dir: str = '',
        names: Optional[Sequence[str]] = None,
        **kwargs,
    ) -> Union[dict, list]:
        """Predict the inputs; with ``out_dir``, write pictures and prediction files.

        Args:
            inputs (str | np.ndarray | list): An image path, a folder, an (H, W, 3) uint8 BGR
                array, or a list of those.
            return_datasamples (bool): Return the ``SegDataSample`` s instead. Defaults to False.
            batch_size (int): Images per forward pass. Defaults to 1.
            return_vis (bool): Also return the pictures. Defaults to False.
            show (bool): Show each panel in a window. Defaults to False.
            wait_time (float): Seconds each window is shown. Defaults to 0.
            out_dir (str): Where ``pred/``, ``vis/`` and ``panels/`` go. Defaults to '' (nothing
                written).
            names (Sequence[str], optional): File stems of the inputs. Defaults to None (the
                image file names; ``array_NNNNN`` for arrays).

        Returns:
            dict: ``predictions``: per image ``{task: array}`` (label maps (H, W) int64, depth
            (H, W) float32 metres, normals (3, H, W) float32 unit vectors, saliency / edge (H, W)
            float32 probabilities); ``visualization``: per image ``{task: (h, w, 3) uint8 RGB}``
            (with ``return_vis`` or ``out_dir``, else empty). For one image given alone (not a
            list or folder) both hold that image's entry instead of a list.
        """
        single = isinstance(inputs, (str, np.ndarray)) and not (
            isinstance(inputs, str) and osp.isdir(inputs)
        )
        ori_inputs = self._inputs_to_list(inputs)
        self._stems = self._stems_of(ori_inputs, names)
        vis_dirs = dict(img_out_dir='', panel_out_dir='', pred_out_dir='')
        if out_dir:
            vis_dirs = {
                key: osp.join(out_dir, sub)
                for key, sub in (
                    ('img_out_dir', 'vis'),
                    ('panel_out_dir', 'panels'),
                    ('pred_out_dir', 'pred'),
                )
            }
        pre_kw, fwd_kw, vis_kw, post_kw = self._dispatch_kwargs(
            show=show, wait_time=wait_time, return_vis=return_vis, **vis_dirs, **kwargs
        )
        preds = []
        batches = self.preprocess(ori_inputs, batch_size=batch_size, **pre_kw)
        if self.show_progress:
            from rich.progress import track

            total = -(-len(ori_inputs) // batch_size)
            batches = track(batches, description='Inference', total=total)
        for data in batches:
            preds.extend(self.forward(data, **fwd_kw))
        visualization = self.visualize(ori_inputs, preds, **vis_kw)
        result = self.postprocess(preds, visualization, return_datasamples, **post_kw)
        if single and isinstance(result, dict):
            result = {k: (v[0] if len(v) == 1 else v) for k, v in result.items()}
        return result

    # ------------------------------------------------------------------ outputs
    def _task_predictions(self, sample) -> Dict[str, np.ndarray]:
        return predictions_of(sample, self.tasks)

    def visualize(
        self,
        inputs: list,
        preds: list,
        return_vis: bool = False,
        show: bool = False,
        wait_time: float = 0,
        img_out_dir: str = '',
        panel_out_dir: str = '',
    ) -> Optional[List[Dict[str, np.ndarray]]]:
        """One picture per task of each image (written to ``img_out_dir/<task>/<image>.png``)
        and a panel of the image and all of them (``panel_out_dir/<image>.png``)."""
        if not (return_vis or show or img_out_dir or panel_out_dir):
            return None
        meta = getattr(self.model, 'dataset_meta', None) or {}
        results = []
        for item, sample, stem in zip(inputs, preds, self._stems):
            image = self._read(item)[..., ::-1]  # RGB
            pictures = {}
            for task, pred in self._task_predictions(sample).items():
                palette = palette_for(task, self.palettes, meta)
                pictures[task] = render_prediction(
                    task, pred, image, palette, task_classes(task, meta)
                )
                if img_out_dir:
                    save_panel(pictures[task], osp.join(img_out_dir, task, f'{stem}.png'))
            if panel_out_dir or show:
                panel = prediction_panel(np.ascontiguousarray(image), pictures)
                if panel_out_dir:
                    save_panel(panel, osp.join(panel_out_dir, f'{stem}.png'))
                if show:
                    import mmcv

                    mmcv.imshow(panel[..., ::-1], win_name=stem, wait_time=int(wait_time * 1000))
            results.append(pictures)
        return results

    def postprocess(
        self,
        preds: list,
        visualization: Optional[list],
        return_datasample: bool = False,
        pred_out_dir: str = '',
    ) -> Union[dict, list]:
        """Per image ``{task: array}`` (one-channel maps as (H, W)); files in ``pred_out_dir``."""
        if pred_out_dir:
            for sample, stem in zip(preds, self._stems):
                save_predictions(self._task_predictions(sample), pred_out_dir, stem)
        if return_datasample:
            return preds
        predictions = []
        for sample in preds:
            per_task = {}
            for task, pred in self._task_predictions(sample).items():
                per_task[task] = pred[0] if pred.shape[0] == 1 else pred
            predictions.append(per_task)
        return dict(predictions=predictions, visualization=visualization or [])
