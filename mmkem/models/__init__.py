from . import (
    backbones,
    data_preprocessors,
    heads,
    interactions,
    layers,
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
    'interactions',
    'layers',
    'losses',
    'necks',
    'reasoning',
    'regularizers',
    'segmentors',
    'task_branches',
]
