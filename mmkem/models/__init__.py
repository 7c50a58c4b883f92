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
    utils,
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
    'utils',
]
