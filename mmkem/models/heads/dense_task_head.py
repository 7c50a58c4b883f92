"""One dense-prediction head for every task kind, configured from the task's kind."""

from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, MultiConfig, OptConfigType, OptMultiConfig, SampleList
from torch import Tensor

from mmkem.structures import TaskSpec, get_task_spec


@MODELS.register_module()
class DenseTaskHead(BaseModule):
    """Head of one dense task: convolutions, then one output per channel of the task.

    Everything task-specific is read from the task's kind (``get_task_spec(task).task_kind``,
    ``mmkem/tasks/kinds.py``): the number of outputs (1 for depth, edge and saliency, 3 for
    normals; for kinds with labels the number of classes, ``out_channels``), the ground-truth
    field, the ignore value passed to the loss, the default loss, the channels a flip negates and
    how raw outputs become predictions. Outputs stay at the feature resolution;
    :meth:`loss_by_feat` upsamples them (bilinear) to the ground truth's size.

    Default losses per kind: segmentation ``CrossEntropyLoss`` (mmseg, averaged over non-ignored
    pixels, ignore index from the kind), depth :class:`DepthL1Loss`, normals :class:`NormalsLoss`
    (L1), edge :class:`BalancedBCELoss` (positive weight 0.95), saliency :class:`BalancedBCELoss`
    (plain BCE).

    Args:
        task (str): Task name (a key of ``mmkem.structures.TASK_SPECS``).
        in_channels (int): Channels of the input feature map.
        out_channels (int, optional): Number of outputs. Required for kinds with labels (the
            number of classes, which :class:`MultiTaskSegmentor` fills in from its
            ``num_classes``); defaults to None, i.e. the kind's ``channels``.
        conv_channels (int, optional): Width of the hidden convolutions. Defaults to None, i.e.
            ``in_channels``.
        num_convs (int): 3x3 conv-norm-activation layers before the 1x1 output layer.
            Defaults to 1.
        norm_cfg (dict, optional): Norm layer of the hidden convolutions. Defaults to
            ``dict(type='BN')``.
        act_cfg (dict, optional): Activation of the hidden convolutions. Defaults to
            ``dict(type='ReLU')``.
        loss_decode (dict | list[dict], optional): Loss config(s); each loss needs a ``loss_name``
            starting with ``loss_``. Defaults to None, i.e. the kind's default loss.
        align_corners (bool): ``align_corners`` of every bilinear resize. Defaults to False.
        init_cfg (dict or list[dict], optional): Initialisation config. Defaults to None.
    """

    def __init__(
        self,
        task: str,
        in_channels: int,
        out_channels: Optional[int] = None,
        conv_channels: Optional[int] = None,
        num_convs: int = 1,
        norm_cfg: OptConfigType = dict(type='BN'),  # noqa: B006 (mmseg style; only read)
        act_cfg: OptConfigType = dict(type='ReLU'),  # noqa: B006
        loss_decode: Optional[MultiConfig] = None,
        align_corners: bool = False,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.spec: TaskSpec = get_task_spec(task)
        self.kind = self.spec.task_kind
        if num_convs < 0:
            raise ValueError(f'num_convs must be >= 0, got {num_convs}')
        if out_channels is None:
            out_channels = self.kind.channels
        if out_channels is None or out_channels < 1:
            raise ValueError(
                f'task {task!r} (kind {self.spec.kind!r}) needs out_channels >= 1, its number of '
                f'classes, got {out_channels}: set num_classes=dict({task}=N) in the config (the '
                f"dataset's _base_ defines it) or out_channels in the head"
            )
        self.task = task
        self.in_channels = in_channels
        self.out_channels = int(out_channels)
        self.align_corners = align_corners
        conv_channels = in_channels if conv_channels is None else conv_channels
        convs = []
        for i in range(num_convs):
            convs.append(
                ConvModule(
                    in_channels if i == 0 else conv_channels,
                    conv_channels,
                    kernel_size=3,
                    padding=1,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                )
            )
        self.convs = nn.Sequential(*convs)
        last = conv_channels if num_convs > 0 else in_channels
        self.conv_out = nn.Conv2d(last, self.out_channels, kernel_size=1)
        self.losses = nn.ModuleList([MODELS.build(cfg) for cfg in self._loss_cfgs(loss_decode)])

    def _loss_cfgs(self, loss_decode: Optional[MultiConfig]) -> List[ConfigType]:
        if loss_decode is None:
            return [dict(self.kind.loss)]
        if isinstance(loss_decode, dict):
            return [loss_decode]
        if isinstance(loss_decode, Sequence):
            return list(loss_decode)
        raise ValueError(
            f'loss_decode must be a dict, a list of dicts or None, got {type(loss_decode)}'
        )

    def forward(self, x: Tensor) -> Tensor:
        """Map features to the task's raw outputs.

        Args:
            x (Tensor): Task features, (B, in_channels, H, W).

        Returns:
            Tensor: (B, out_channels, H, W): class logits, depth in metres, unnormalised normals
            or edge / saliency logits.
        """
        return self.conv_out(self.convs(x))

    def loss_by_feat(self, pred: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        """Losses of the raw outputs against each sample's ground truth.

        Args:
            pred (Tensor): Output of :meth:`forward`, (B, out_channels, h, w).
            data_samples (list[SegDataSample]): Samples with ``spec.gt_field`` set, all padded to
                the same size (H, W) by the data preprocessor.

        Returns:
            dict[str, Tensor]: ``{loss_name: scalar}``, losses with the same name summed.
        """
        gt = self._stack_gt(data_samples)
        pred = F.interpolate(
            pred, size=gt.shape[-2:], mode='bilinear', align_corners=self.align_corners
        )
        target = self.kind.to_target(gt)
        kwargs = {} if self.spec.ignore_index is None else {'ignore_index': self.spec.ignore_index}
        losses: Dict[str, Tensor] = {}
        for loss_module in self.losses:
            value = loss_module(pred, target, **kwargs)
            name = loss_module.loss_name
            losses[name] = losses[name] + value if name in losses else value
        return losses

    def _stack_gt(self, data_samples: SampleList) -> Tensor:
        field_name = self.spec.gt_field
        gts = []
        for i, sample in enumerate(data_samples):
            if field_name not in sample:
                raise ValueError(
                    f'data sample {i} has no {field_name!r} (ground truth of task {self.task!r}); '
                    'check that the dataset loads this task and the packer keeps it'
                )
            gts.append(sample.get(field_name).data)
        shapes = {tuple(gt.shape) for gt in gts}
        if len(shapes) != 1:
            raise ValueError(
                f'{field_name} has different shapes across the batch ({sorted(shapes)}); the data '
                'preprocessor must pad every ground-truth field to the batch size'
            )
        return torch.stack(gts)

    def postprocess(self, output: Tensor, img_meta: Optional[dict] = None) -> Tuple[Tensor, Tensor]:
        """Turn one sample's raw output at the batch input size into its final prediction.

        Following mmseg's ``postprocess_result``: remove the padding, undo a test-time flip (here
        also reversing the sign of the channels the kind's geometry flips), resize (bilinear) to
        ``ori_shape``, then activate (argmax, unit normals, sigmoid, non-negative depth).

        The padded area comes from ``img_padding_size`` or ``padding_size`` (left, right, top,
        bottom) when the meta has one, as mmseg's preprocessor writes; otherwise everything outside
        the top-left ``img_shape`` is padding.

        Args:
            output (Tensor): Raw output of one sample resized to the padded input, (C, H, W).
            img_meta (dict, optional): The sample's meta. Defaults to None (no post-processing
                but the activation).

        Returns:
            tuple[Tensor, Tensor]: The prediction (1, h, w) or (3, h, w) and the processed raw
            output (C, h, w), both at ``ori_shape``.
        """
        img_meta = img_meta or {}
        height, width = output.shape[-2:]
        padding = img_meta.get('img_padding_size', img_meta.get('padding_size'))
        if padding is not None:
            left, right, top, bottom = padding
            output = output[:, top : height - bottom, left : width - right]
        elif img_meta.get('img_shape') is not None:
            img_h, img_w = img_meta['img_shape'][:2]
            output = output[:, :img_h, :img_w]
        if img_meta.get('flip', False):
            output = self.kind.flip(output, img_meta.get('flip_direction', 'horizontal'))
        if img_meta.get('ori_shape') is not None:
            output = F.interpolate(
                output[None],
                size=tuple(img_meta['ori_shape'][:2]),
                mode='bilinear',
                align_corners=self.align_corners,
            )[0]
        return self.kind.activate(output), output
