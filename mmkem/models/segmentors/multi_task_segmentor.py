"""Multi-task segmentor: shared backbone, per-task branches, optional task interaction."""

import copy
import logging
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import OptConfigType, OptMultiConfig, OptSampleList, SampleList, add_prefix
from torch import Tensor

from mmkem.structures import check_task_list, compare_task_lists, get_task_spec
from mmkem.utils.registry import takes_argument

from .inference import MultiTaskInferenceMixin, check_test_cfg
from .non_finite_loss import NonFiniteLossError, all_finite, fp16_autocast_enabled


@MODELS.register_module()
class MultiTaskSegmentor(MultiTaskInferenceMixin, BaseSegmentor):
    """Shared (frozen) backbone, per-task encoders, task interaction, per-task decoders and heads.

    The paper's KEM framework (its Fig. 3), composed from configs::

        inputs (B, 3, H, W)
          -> backbone                 multi-level features (any mmseg / timm backbone in MODELS)
          -> feature_adapter          shared map Z, (B, C, h, w)
          -> task_encoder[t]          F_t = enc_t(Z), one per task (paper: 2-layer ViT)
          -> interaction              [F_1 .. F_n] -> [F'_1 .. F'_n] (KEM | SKEM | ... | None)
          -> task_decoder[t]          per task (paper: 2-layer ViT)
          -> heads[t]                 raw outputs per task, (B, channels_t, h, w)

    Training (:meth:`loss`): each head computes its losses against the sample's ground truth
    (``spec.gt_field``), the ``loss_weighting`` object weights them, and the optional
    ``regularizer`` adds terms computed from the per-task losses and Z. Inference
    (:meth:`predict`, in :mod:`.inference`: whole image or sliding window, optional flip TTA, each
    task merged by its kind's rule) writes ``spec.pred_field`` (and ``<task>_logits``) on each
    sample.

    The regulariser interface (for Rep-MTL and similar methods): a MODELS module called in training
    as ``regularizer(task_losses, shared)`` with ``task_losses`` a dict ``{task: scalar tensor}`` of
    the unweighted per-task losses (the sum of each task's terms, still attached to the graph) and
    ``shared`` the shared representation Z (B, C, h, w) that feeds all task branches. It returns a
    dict of tensors; keys containing ``loss`` are added to the total by mmengine, the others are
    only logged. They appear in the loss dict prefixed with ``regularizer.``. Which feature plays Z
    for the regulariser is ``regularizer_input``: ``'adapter'`` (default, the map every task branch
    starts from) or an int, the index of a backbone level (only with a trainable backbone, since the
    saliencies of a frozen backbone's output reach no trainable parameter upstream).

    The interaction module sits between the task encoders and decoders; mmseg's ``neck`` follows
    the backbone, which here is the feature adapter's place, so this argument is called
    ``interaction``.

    Args:
        tasks (Sequence[str]): Task names, e.g. ``('semseg', 'depth')``; each must be registered in
            ``mmkem.structures.TASK_SPECS``. Configs write the list once, as the top-level
            ``tasks`` variable, and :func:`mmkem.engine.fill_task_config` fills it in here, in the
            datasets and in the evaluators.
        backbone (dict): Backbone config; it must return a tuple of feature maps (or one map).
        feature_adapter (dict): Config of the module that fuses the backbone's levels into Z, e.g.
            ``dict(type='FeatureAdapter', in_channels=[...], channels=C)``; the built module must
            expose ``channels`` (C).
        freeze_backbone (bool): Freeze the backbone: its parameters get ``requires_grad=False``, it
            runs under ``torch.no_grad()`` and stays in eval mode (BatchNorm statistics and
            dropout frozen) even when :meth:`train` is called. Defaults to True (the paper's
            frozen Swin encoder).
        task_encoder (dict, optional): Config of one task's encoder, built once per task with
            ``embed_dims=C`` filled in, e.g. ``dict(type='ViTBlocks', num_layers=2,
            with_pos_embed=True)``. Defaults to None: no encoder (F_t = Z).
        interaction (dict, optional): Task interaction config (``KEM``, ``SKEM``,
            ``TaskCrossAttention``), called as ``interaction([F_1, ..., F_n])`` and returning a
            list of the same shapes; ``num_tasks`` and ``in_channels`` are filled in when its
            class takes them. Defaults to
            None: no interaction (the plain multi-task baseline).
        task_decoder (dict, optional): Config of one task's decoder, built once per task with
            ``embed_dims=C`` filled in. Defaults to None: no decoder.
        heads (dict, optional): Either one head config used for every task (it has a ``type``
            key) or a dict ``{task: head config}`` with exactly the tasks of ``tasks``. ``task``,
            ``in_channels=C`` and, for tasks with classes, ``out_channels`` (from
            ``num_classes``) are filled in. Defaults to None, i.e. ``dict(type='DenseTaskHead')``
            for every task.
        num_classes (dict, optional): Task -> number of classes of the tasks whose kind has
            labels (``dict(semseg=40)``): a dataset fact, defined once in the dataset's ``_base_``
            config as the top-level ``num_classes`` and filled in by
            :func:`mmkem.engine.fill_task_config`. Defaults to None.
        loss_weighting (dict, optional): Loss weighting config; ``tasks`` is filled in when left
            out and must otherwise equal ``tasks``. Defaults to None, i.e.
            ``dict(type='FixedLossWeighting')`` (all weights 1, the paper's NYUD-v2 setting).
        regularizer (dict, optional): See above. Defaults to None.
        regularizer_input (str | int): The Z handed to the regulariser: ``'adapter'`` or a
            backbone level index. Defaults to ``'adapter'``.
        data_preprocessor (dict, optional): Data preprocessor config, normally
            ``dict(type='MultiTaskDataPreProcessor', ...)``. Defaults to None.
        train_cfg (dict, optional): Kept for mmseg compatibility; unused. Defaults to None.
        amp_non_finite_patience (int): Under float16 AMP a non-finite loss is usually an overflow
            that the gradient scaler handles (it skips the step and lowers the scale): so many
            consecutive non-finite steps are let through to it, with a warning, before the run
            stops. Without float16 autocast the first one stops it. Defaults to 10.
        test_cfg (dict, optional): How to predict (:func:`.inference.check_test_cfg`; any other
            key is an error naming it): ``mode`` ``'whole'`` (default) or ``'slide'`` with
            ``crop_size`` and ``stride`` (h, w) as in mmseg; ``flip`` (default False) also
            predicts the image flipped along ``flip_direction`` (default ``'horizontal'``) and
            merges; ``keep_logits`` (default True) also stores the raw outputs at the original
            size as ``<task>_logits``. Defaults to None.
        init_cfg (dict or list[dict], optional): Initialisation config. Defaults to None.
    """

    #: Arguments keyed by task: a config keeps its own tasks' entries (``heads`` when per task).
    task_keyed_args = ('heads', 'num_classes')

    def __init__(
        self,
        tasks: Optional[Sequence[str]] = None,
        backbone: OptConfigType = None,
        feature_adapter: OptConfigType = None,
        freeze_backbone: bool = True,
        task_encoder: OptConfigType = None,
        interaction: OptConfigType = None,
        task_decoder: OptConfigType = None,
        heads: OptConfigType = None,
        num_classes: Optional[Dict[str, int]] = None,
        loss_weighting: OptConfigType = None,
        regularizer: OptConfigType = None,
        regularizer_input: Union[str, int] = 'adapter',
        data_preprocessor: OptConfigType = None,
        train_cfg: OptConfigType = None,
        test_cfg: OptConfigType = None,
        amp_non_finite_patience: int = 10,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if amp_non_finite_patience < 0:
            raise ValueError(f'amp_non_finite_patience must be >= 0, got {amp_non_finite_patience}')
        self.amp_non_finite_patience = amp_non_finite_patience
        self._fp16_forward = False
        self._non_finite_steps = 0
        if tasks is None:
            raise ValueError(
                'MultiTaskSegmentor got tasks=None: write the task list once at the top of the '
                "config (tasks = ['semseg', 'depth']) and build it with tools/train.py, "
                'MultiTaskRunner or mmkem.engine.fill_task_config(cfg), or pass tasks=[...]'
            )
        self.tasks: List[str] = check_task_list(tasks)
        self.specs = {task: get_task_spec(task) for task in self.tasks}
        self.num_classes = self._check_num_classes(num_classes)
        if backbone is None or feature_adapter is None:
            raise ValueError('MultiTaskSegmentor needs a backbone and a feature_adapter config')

        self.backbone = MODELS.build(backbone)
        self.freeze_backbone = freeze_backbone
        if freeze_backbone:
            self.backbone.requires_grad_(False)
            self.backbone.eval()
        self.feature_adapter = MODELS.build(feature_adapter)
        channels = getattr(self.feature_adapter, 'channels', None)
        if not isinstance(channels, int):
            raise ValueError(
                'feature_adapter must build a module with an int attribute `channels` (the width '
                f'of the shared map), got {type(self.feature_adapter).__name__}'
            )
        self.channels = channels

        self.task_encoders = self._build_per_task(task_encoder, embed_dims=channels)
        self.interaction = None
        if interaction is not None:
            interaction = copy.deepcopy(dict(interaction))
            for name, value in (('num_tasks', len(self.tasks)), ('in_channels', channels)):
                if takes_argument((MODELS,), interaction, name):
                    interaction.setdefault(name, value)
            self.interaction = MODELS.build(interaction)
        self.task_decoders = self._build_per_task(task_decoder, embed_dims=channels)
        self.heads = nn.ModuleDict(
            {task: MODELS.build(cfg) for task, cfg in self._head_cfgs(heads).items()}
        )

        weighting_cfg = (
            dict(type='FixedLossWeighting')
            if loss_weighting is None
            else dict(copy.deepcopy(loss_weighting))
        )
        weighting_cfg.setdefault('tasks', list(self.tasks))
        self._check_same_tasks('loss_weighting.tasks', weighting_cfg['tasks'])
        self.loss_weighting = MODELS.build(weighting_cfg)
        self.regularizer = MODELS.build(regularizer) if regularizer is not None else None
        if regularizer_input != 'adapter' and not isinstance(regularizer_input, int):
            raise ValueError(
                f"regularizer_input must be 'adapter' or a backbone level index, got "
                f'{regularizer_input!r}'
            )
        if isinstance(regularizer_input, int) and freeze_backbone:
            raise ValueError(
                f'regularizer_input={regularizer_input} (a backbone level) needs '
                'freeze_backbone=False: a frozen backbone takes no gradient'
            )
        self.regularizer_input = regularizer_input

        self.train_cfg = train_cfg
        self.test_cfg = check_test_cfg(test_cfg)

    # ------------------------------------------------------------------ construction helpers
    def _build_per_task(self, cfg: OptConfigType, **defaults) -> nn.ModuleDict:
        """One module per task from ``cfg`` (``nn.Identity`` for all when ``cfg`` is None)."""
        modules = {}
        for task in self.tasks:
            if cfg is None:
                modules[task] = nn.Identity()
                continue
            task_cfg = copy.deepcopy(dict(cfg))
            for key, value in defaults.items():
                task_cfg.setdefault(key, value)
            modules[task] = MODELS.build(task_cfg)
        return nn.ModuleDict(modules)

    def _check_num_classes(self, num_classes: Optional[Dict[str, int]]) -> Dict[str, int]:
        """Class counts of the model's tasks with labels (other entries of ``num_classes`` are
        dataset facts of tasks this model does not train and are left out)."""
        num_classes = dict(num_classes or {})
        for task, count in num_classes.items():
            spec = get_task_spec(task)
            if not spec.has_classes:
                raise ValueError(
                    f'num_classes[{task!r}]: task {task!r} (kind {spec.kind!r}) has no classes'
                )
            if not isinstance(count, int) or count < 1:
                raise ValueError(f'num_classes[{task!r}] must be an int >= 1, got {count!r}')
        return {t: num_classes[t] for t in self.tasks if t in num_classes}

    def _head_cfgs(self, heads: OptConfigType) -> Dict[str, dict]:
        """Per-task head configs from one shared config or a dict keyed by task."""
        if heads is None:
            heads = dict(type='DenseTaskHead')
        if 'type' in heads:
            per_task = {task: copy.deepcopy(dict(heads)) for task in self.tasks}
        else:
            self._check_same_tasks('heads', list(heads))
            per_task = {task: copy.deepcopy(dict(heads[task])) for task in self.tasks}
        for task, cfg in per_task.items():
            cfg.setdefault('task', task)
            cfg.setdefault('in_channels', self.channels)
            if task in self.num_classes:
                cfg.setdefault('out_channels', self.num_classes[task])
            if cfg['task'] != task:
                raise ValueError(f'heads[{task!r}] has task={cfg["task"]!r}; they must agree')
        return per_task

    def _check_same_tasks(self, what: str, names: Sequence[str]) -> None:
        missing, unexpected = compare_task_lists(self.tasks, names)
        if missing or unexpected:
            raise ValueError(
                f'{what} ({list(names)}) does not match tasks ({self.tasks}): '
                f'missing {missing}, unexpected {unexpected}'
            )

    def train(self, mode: bool = True) -> 'MultiTaskSegmentor':
        """Set train/eval mode; a frozen backbone stays in eval mode."""
        super().train(mode)
        if self.freeze_backbone:
            self.backbone.eval()
        return self

    # ------------------------------------------------------------------ forward parts
    def extract_feat(self, inputs: Tensor) -> Tensor:
        """Backbone and feature adapter: the shared representation.

        Args:
            inputs (Tensor): Images, (B, 3, H, W).

        Returns:
            Tensor: Z, (B, C, h, w).
        """
        return self.feature_adapter(self._backbone_feats(inputs))

    def _backbone_feats(self, inputs: Tensor) -> Sequence[Tensor]:
        """The backbone's levels (no graph through a frozen backbone)."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_backbone):
            feats = self.backbone(inputs)
        return feats if isinstance(feats, (list, tuple)) else (feats,)

    def forward_tasks(self, shared: Tensor) -> Dict[str, Tensor]:
        """Task encoders, task interaction, task decoders and heads.

        Args:
            shared (Tensor): Z, (B, C, h, w).

        Returns:
            dict[str, Tensor]: Raw head outputs per task, (B, channels_t, h, w).
        """
        feats = [self.task_encoders[task](shared) for task in self.tasks]
        if self.interaction is not None:
            feats = list(self.interaction(feats))
            if len(feats) != len(self.tasks):
                raise ValueError(
                    f'the interaction module returned {len(feats)} maps for {len(self.tasks)} tasks'
                )
        return {
            task: self.heads[task](self.task_decoders[task](feat))
            for task, feat in zip(self.tasks, feats)
        }

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None) -> Dict[str, Tensor]:
        """Raw outputs per task at the feature resolution (``mode='tensor'``).

        Args:
            inputs (Tensor): Images, (B, 3, H, W).
            data_samples (list[SegDataSample], optional): Unused. Defaults to None.

        Returns:
            dict[str, Tensor]: ``{task: (B, channels_t, h, w)}``.
        """
        return self.forward_tasks(self.extract_feat(inputs))

    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """Raw outputs per task, resized (bilinear) to the input size.

        Args:
            inputs (Tensor): Images, (B, 3, H, W).
            batch_img_metas (list[dict]): Metas of the samples (unused; kept for mmseg's API).

        Returns:
            dict[str, Tensor]: ``{task: (B, channels_t, H, W)}``.
        """
        outputs = self._forward(inputs)
        return {
            task: F.interpolate(
                out,
                size=inputs.shape[2:],
                mode='bilinear',
                align_corners=getattr(self.heads[task], 'align_corners', False),
            )
            for task, out in outputs.items()
        }

    # ------------------------------------------------------------------ training
    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        """Weighted per-task losses (and regulariser terms) of a batch.

        Args:
            inputs (Tensor): Images, (B, 3, H, W).
            data_samples (list[SegDataSample]): Samples with every task's ``gt_field``, padded to
                the batch size.

        Returns:
            dict[str, Tensor]: ``'<task>.loss_<name>'`` weighted losses, ``'<task>.weight'`` and
            any other entries of the weighting, and ``'regularizer.*'`` entries.
        """
        self._check_sample_tasks(data_samples)
        self._fp16_forward = fp16_autocast_enabled(inputs.device.type)
        feats = self._backbone_feats(inputs)
        shared = self.feature_adapter(feats)
        outputs = self.forward_tasks(shared)
        task_losses = {
            task: self.heads[task].loss_by_feat(outputs[task], data_samples) for task in self.tasks
        }
        losses = self.loss_weighting(task_losses)
        if self.regularizer is not None:
            totals = {task: sum(terms.values()) for task, terms in task_losses.items()}
            z = shared if self.regularizer_input == 'adapter' else feats[self.regularizer_input]
            losses.update(add_prefix(self.regularizer(totals, z), 'regularizer'))
        return losses

    def _check_sample_tasks(self, data_samples: SampleList) -> None:
        """The dataset must provide every task of the model (extra dataset tasks are unused)."""
        for sample in data_samples:
            dataset_tasks = sample.metainfo.get('tasks')
            if dataset_tasks is None:
                continue
            missing = compare_task_lists(self.tasks, list(dataset_tasks))[0]
            if missing:
                raise ValueError(
                    f'the model has tasks {self.tasks} but the dataset provides '
                    f'{list(dataset_tasks)}: missing {missing}'
                )

    def parse_losses(self, losses: Dict[str, Tensor]):
        """mmengine's sum of the ``loss`` entries, stopping on a NaN or Inf loss.

        A non-finite loss would turn every weight into NaN at the optimizer step and the run would
        go on training garbage. Checking here, before the step, leaves the model (and the last
        checkpoint) intact and names the task whose loss went bad. In a distributed run the
        processes agree first (one all-reduce), so that all of them stop together. Under float16
        AMP up to ``amp_non_finite_patience`` consecutive non-finite steps are left to the
        gradient scaler, which skips them.

        Raises:
            NonFiniteLossError: A ``loss`` entry is NaN or infinite (on any process).
        """
        loss, log_vars = super().parse_losses(losses)
        terms = {k: v.detach() for k, v in log_vars.items() if 'loss' in k and k != 'loss'}
        if not terms:
            return loss, log_vars
        if all_finite(torch.stack(list(terms.values()))):
            self._non_finite_steps = 0
            return loss, log_vars
        self._non_finite_steps += 1
        if self._fp16_forward and self._non_finite_steps <= self.amp_non_finite_patience:
            print_log(
                f'non-finite loss under float16 AMP ({self._non_finite_steps} step(s) in a row, '
                f'stopping after {self.amp_non_finite_patience}): the gradient scaler skips this '
                'step and lowers its scale',
                logger='current',
                level=logging.WARNING,
            )
            return loss, log_vars
        note = ''
        if self._fp16_forward:
            note = f' ({self._non_finite_steps} float16 AMP steps in a row)'
        raise NonFiniteLossError(terms, note=note)
