"""Per-task branches of the multi-task segmentor: the encoders and decoders around the interaction
module (``ViTBlocks``)."""

from .vit_blocks import ViTBlocks, sincos_pos_embed_2d

__all__ = ['ViTBlocks', 'sincos_pos_embed_2d']
