from .cross_attention import TaskCrossAttention
from .etf import simplex_etf
from .feature_adapter import FeatureAdapter
from .kem import KEM, SKEM, KEMCore
from .multi_level_neck import KEMMultiLevelNeck

__all__ = [
    'FeatureAdapter',
    'KEM',
    'SKEM',
    'KEMCore',
    'KEMMultiLevelNeck',
    'TaskCrossAttention',
    'simplex_etf',
]
