from . import (
    backbones,
    data_preprocessors,
    heads,
    losses,
    necks,
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
    'regularizers',
    'segmentors',
    'utils',
]
