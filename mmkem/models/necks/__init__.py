from .multi_level_neck import KEMMultiLevelNeck

__all__ = ['KEMMultiLevelNeck']
