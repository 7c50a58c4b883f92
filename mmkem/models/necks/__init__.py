from .cross_attention import TaskCrossAttention
from .etf import simplex_etf
from .kem import KEM, SKEM, KEMCore

__all__ = ['KEM', 'SKEM', 'KEMCore', 'TaskCrossAttention', 'simplex_etf']
