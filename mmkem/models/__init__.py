from . import (
    backbones,
    data_preprocessors,
    heads,
    losses,
    necks,
    reasoning,
    regularizers,
    segmentors,
    utils,
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
    'utils',
]
