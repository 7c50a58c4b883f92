"""ViTBlocks and the 2D sine-cosine position embedding against plain reference computations."""

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmkem  # noqa: F401
from mmkem.models.task_branches import sincos_pos_embed_2d

init_default_scope('mmseg')


def test_vit_blocks_equal_a_plain_transformer_computation():
    torch.manual_seed(0)
    vit = MODELS.build(dict(type='ViTBlocks', embed_dims=8, num_layers=1, num_heads=2))
    vit.eval()
    x = torch.randn(2, 8, 3, 4)
    block = vit.blocks[0]
    tokens = x.flatten(2).transpose(1, 2)  # (2, 12, 8)

    def attention(t):
        qkv = F.linear(t, block.attn.qkv.weight, block.attn.qkv.bias).view(2, 12, 3, 2, 4)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        weights = (q @ k.transpose(-1, -2) / 2.0).softmax(-1)  # scale 1 / sqrt(4)
        out = (weights @ v).transpose(1, 2).reshape(2, 12, 8)
        return F.linear(out, block.attn.proj.weight, block.attn.proj.bias)

    h = tokens + attention(block.norm1(tokens))
    h = h + block.mlp.fc2(F.gelu(block.mlp.fc1(block.norm2(h))))
    expected = vit.norm(h).transpose(1, 2).reshape(2, 8, 3, 4)
    assert torch.allclose(vit(x), expected, atol=1e-5)


def test_vit_blocks_position_embedding_and_errors():
    torch.manual_seed(0)
    plain = MODELS.build(dict(type='ViTBlocks', embed_dims=8, num_heads=2))
    torch.manual_seed(0)
    with_pos = MODELS.build(dict(type='ViTBlocks', embed_dims=8, num_heads=2, with_pos_embed=True))
    x = torch.randn(1, 8, 2, 3)
    pos = sincos_pos_embed_2d(2, 3, 8).t().reshape(1, 8, 2, 3)
    assert torch.allclose(with_pos(x), plain(x + pos), atol=1e-6)
    # the embedding of token (y, x): [sin(x w), cos(x w), sin(y w), cos(y w)], w = 1, 1/100
    assert torch.allclose(
        sincos_pos_embed_2d(2, 3, 8)[5],
        torch.tensor([2.0, 0.02, 2.0, 0.02, 1.0, 0.01, 1.0, 0.01]).sin()
        * torch.tensor([1, 1, 0, 0, 1, 1, 0, 0.0])
        + torch.tensor([2.0, 0.02, 2.0, 0.02, 1.0, 0.01, 1.0, 0.01]).cos()
        * torch.tensor([0, 0, 1, 1, 0, 0, 1, 1.0]),
        atol=1e-6,
    )
    with pytest.raises(ValueError, match='num_heads'):
        MODELS.build(dict(type='ViTBlocks', embed_dims=10, num_heads=4))
    with pytest.raises(ValueError, match='expected 8 input channels'):
        plain(torch.randn(1, 4, 2, 2))
