from .balanced_bce_loss import BalancedBCELoss
from .depth_l1_loss import DepthL1Loss
from .loss_weighting import (
    BaseLossWeighting,
    DWALossWeighting,
    FixedLossWeighting,
    UncertaintyLossWeighting,
)
from .normals_loss import NormalsLoss

__all__ = [
    'BalancedBCELoss',
    'BaseLossWeighting',
    'DWALossWeighting',
    'DepthL1Loss',
    'FixedLossWeighting',
    'NormalsLoss',
    'UncertaintyLossWeighting',
]
