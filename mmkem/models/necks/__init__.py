from .cross_attention import TaskCrossAttention
from .etf import simplex_etf
from .kem import KEM, SKEM, KEMCore
from .multi_level_neck import KEMMultiLevelNeck

__all__ = ['KEM', 'SKEM', 'KEMCore', 'KEMMultiLevelNeck', 'TaskCrossAttention', 'simplex_etf']
