from . import colorize, panels
from .colorize import default_palette, voc_palette
from .multi_task_visualizer import MultiTaskLocalVisualizer
from .panels import render_multitask_panel, save_multitask_panels

__all__ = [
    'colorize',
    'panels',
    'MultiTaskLocalVisualizer',
    'default_palette',
    'render_multitask_panel',
    'save_multitask_panels',
    'voc_palette',
]
