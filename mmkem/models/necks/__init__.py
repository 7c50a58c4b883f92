from .feature_adapter import FeatureAdapter
from .multi_level_neck import KEMMultiLevelNeck

__all__ = ['FeatureAdapter', 'KEMMultiLevelNeck']
