from . import hooks
from .hooks import MultiTaskVisualizationHook

__all__ = ['hooks', 'MultiTaskVisualizationHook']
