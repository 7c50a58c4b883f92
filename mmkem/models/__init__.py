from . import (
    backbones,
    data_preprocessors,
    heads,
    losses,
    necks,
    reasoning,
    regularizers,
    segmentors,
    task_branches,
)

__all__ = [
    'backbones',
    'data_preprocessors',
    'heads',
    'losses',
    'necks',
    'reasoning',
    'regularizers',
    'segmentors',
    'task_branches',
]
