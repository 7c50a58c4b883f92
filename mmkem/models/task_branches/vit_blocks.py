"""Per-task ViT encoder / decoder: a few pre-norm transformer blocks on a feature map's tokens."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import OptMultiConfig
from timm.models.vision_transformer import Block
from torch import Tensor


def sincos_pos_embed_2d(height: int, width: int, dims: int, temperature: float = 10000.0) -> Tensor:
    """Fixed 2D sine-cosine position embedding (MAE / MoCo v3 form).

    Args:
        height (int): Token grid height.
        width (int): Token grid width.
        dims (int): Embedding width; must be divisible by 4.
        temperature (float): Frequency base. Defaults to 10000.

    Returns:
        Tensor: (height * width, dims), rows in row-major token order.
    """
    if dims % 4 != 0:
        raise ValueError(
            f'the 2D sine-cosine position embedding needs dims divisible by 4, got {dims}'
        )
    grid_y, grid_x = torch.meshgrid(
        torch.arange(height, dtype=torch.float32),
        torch.arange(width, dtype=torch.float32),
        indexing='ij',
    )
    quarter = dims // 4
    omega = 1.0 / temperature ** (torch.arange(quarter, dtype=torch.float32) / quarter)
    out_x = grid_x.reshape(-1, 1) * omega
    out_y = grid_y.reshape(-1, 1) * omega
    return torch.cat([out_x.sin(), out_x.cos(), out_y.sin(), out_y.cos()], dim=1)


@MODELS.register_module()
class ViTBlocks(BaseModule):
    """A stack of pre-norm ViT blocks (timm's ``Block``) run on the tokens of a feature map.

    The paper realises each task's encoder and decoder as a 2-layer Vision Transformer; this module
    is one of them: the map (B, C, H, W) is flattened to H*W tokens of width C, passed through
    ``num_layers`` blocks (LayerNorm -> multi-head self-attention -> residual, LayerNorm -> MLP ->
    residual) and reshaped back. Any H, W works: the optional position embedding is a fixed 2D
    sine-cosine one computed for the input's grid.

    With ``downsample = s > 1`` the blocks run on a coarser grid, for maps at a fine stride
    (stride 8 or 4) where global attention over all ``H*W`` tokens would cost ``(H*W)^2``: the
    map is average-pooled by ``s``, the blocks run on the pooled map ``P``, and their change is
    upsampled (bilinear) and added to the input, ``y = x + up(blocks(P) - P)``. So the coarse part
    of the map is what the blocks make of it and the fine detail of ``x`` (``x - up(P)``) passes
    through unchanged; at ``s = 1`` this is the plain ``y = blocks(x)``. Cost of the blocks: that
    of the map at ``s`` times the stride.

    Args:
        embed_dims (int): Token width C.
        num_layers (int): Number of blocks. Defaults to 2 (paper).
        num_heads (int): Attention heads; must divide ``embed_dims``. Defaults to 8.
        mlp_ratio (float): Hidden width of the MLP over ``embed_dims``. Defaults to 4.0.
        qkv_bias (bool): Bias in the query/key/value projection. Defaults to True.
        drop_rate (float): Dropout after the attention and MLP projections. Defaults to 0.0.
        attn_drop_rate (float): Dropout on the attention weights. Defaults to 0.0.
        drop_path_rate (float): Stochastic depth, increasing linearly to this value over the
            blocks. Defaults to 0.0.
        with_pos_embed (bool): Add a 2D sine-cosine position embedding to the tokens before the
            first block. Defaults to False.
        final_norm (bool): Apply a LayerNorm to the output tokens. Defaults to True.
        downsample (int): Run the blocks on the map average-pooled by this factor and add their
            upsampled change to the input (see above). Defaults to 1 (the blocks on every token).
        init_cfg (dict or list[dict], optional): Initialisation config. Defaults to None, i.e.
            ViT's truncated-normal (std 0.02) linear layers and unit LayerNorms.
    """

    def __init__(
        self,
        embed_dims: int,
        num_layers: int = 2,
        num_heads: int = 8,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        with_pos_embed: bool = False,
        final_norm: bool = True,
        downsample: int = 1,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        if init_cfg is None:
            init_cfg = [
                dict(type='TruncNormal', layer='Linear', std=0.02, bias=0.0),
                dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0),
            ]
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError(f'num_layers must be >= 1, got {num_layers}')
        if embed_dims % num_heads != 0:
            raise ValueError(f'num_heads ({num_heads}) must divide embed_dims ({embed_dims})')
        if with_pos_embed and embed_dims % 4 != 0:
            raise ValueError(
                f'with_pos_embed=True needs embed_dims divisible by 4, got {embed_dims}'
            )
        if downsample < 1:
            raise ValueError(f'downsample must be >= 1, got {downsample}')
        self.embed_dims = embed_dims
        self.downsample = downsample
        self.with_pos_embed = with_pos_embed
        drop_path = torch.linspace(0, drop_path_rate, num_layers).tolist()
        self.blocks = nn.Sequential(
            *[
                Block(
                    dim=embed_dims,
                    num_heads=num_heads,
                    mlp_ratio=mlp_ratio,
                    qkv_bias=qkv_bias,
                    proj_drop=drop_rate,
                    attn_drop=attn_drop_rate,
                    drop_path=drop_path[i],
                )
                for i in range(num_layers)
            ]
        )
        self.norm = nn.LayerNorm(embed_dims) if final_norm else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """Run the blocks on the tokens of ``x``.

        Args:
            x (Tensor): Feature map, (B, C, H, W) with C = ``embed_dims``.

        Returns:
            Tensor: Feature map, (B, C, H, W).
        """
        if x.shape[1] != self.embed_dims:
            raise ValueError(f'expected {self.embed_dims} input channels, got {x.shape[1]}')
        if self.downsample == 1:
            return self._blocks(x)
        pooled = F.avg_pool2d(x, self.downsample, ceil_mode=True)
        change = self._blocks(pooled) - pooled
        return x + F.interpolate(change, size=x.shape[-2:], mode='bilinear', align_corners=False)

    def _blocks(self, x: Tensor) -> Tensor:
        """The blocks on every token of ``x``, (B, C, H, W) -> (B, C, H, W)."""
        batch, channels, height, width = x.shape
        tokens = x.flatten(2).transpose(1, 2)  # (B, H*W, C)
        if self.with_pos_embed:
            pos = sincos_pos_embed_2d(height, width, channels).to(tokens)
            tokens = tokens + pos.unsqueeze(0)
        tokens = self.norm(self.blocks(tokens))
        return tokens.transpose(1, 2).reshape(batch, channels, height, width)
