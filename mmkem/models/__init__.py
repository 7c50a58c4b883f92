from . import backbones, data_preprocessors, heads, losses, necks, segmentors

__all__ = ['backbones', 'data_preprocessors', 'heads', 'losses', 'necks', 'segmentors']
