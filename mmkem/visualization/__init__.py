from . import panels
from .multi_task_visualizer import MultiTaskLocalVisualizer
from .panels import default_palette, render_multitask_panel, save_multitask_panels

__all__ = [
    'panels',
    'MultiTaskLocalVisualizer',
    'default_palette',
    'render_multitask_panel',
    'save_multitask_panels',
]
