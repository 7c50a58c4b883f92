from .feature_adapter import FeatureAdapter
from .vit_blocks import ViTBlocks, sincos_pos_embed_2d

__all__ = ['FeatureAdapter', 'ViTBlocks', 'sincos_pos_embed_2d']
