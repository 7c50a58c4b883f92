from .timm_features import TimmFeatures

__all__ = ['TimmFeatures']
