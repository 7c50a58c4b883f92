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


def test_vit_blocks_on_a_pooled_grid_add_their_upsampled_change():
    torch.manual_seed(0)
    cfg = dict(type='ViTBlocks', embed_dims=8, num_layers=1, num_heads=2, with_pos_embed=True)
    plain = MODELS.build(cfg)
    pooled = MODELS.build(dict(cfg, downsample=2))
    pooled.load_state_dict(plain.state_dict())
    x = torch.randn(2, 8, 6, 8)
    coarse = F.avg_pool2d(x, 2)  # (2, 8, 3, 4): the stride-16 grid of a stride-8 map
    change = plain(coarse) - coarse
    expected = x + F.interpolate(change, size=(6, 8), mode='bilinear', align_corners=False)
    assert torch.allclose(pooled(x), expected, atol=1e-5)
    # the fine detail passes through: x minus its pooled-and-upsampled self is unchanged
    detail = x - F.interpolate(coarse, size=(6, 8), mode='bilinear', align_corners=False)
    assert torch.allclose(
        pooled(x) - F.interpolate(plain(coarse), size=(6, 8), mode='bilinear', align_corners=False),
        detail,
        atol=1e-5,
    )
    # downsample 1 is the plain module
    same = MODELS.build(dict(cfg, downsample=1))
    same.load_state_dict(plain.state_dict())
    assert torch.equal(same(x), plain(x))
    # a size the factor does not divide: the last window is partial (its mean over what is there)
    odd = torch.randn(1, 8, 5, 7)
    edge = F.avg_pool2d(odd, 2, ceil_mode=True)
    assert edge.shape[-2:] == (3, 4)
    assert torch.allclose(edge[0, :, 2, 3], odd[0, :, 4, 6], atol=1e-6)
    assert pooled(odd).shape == odd.shape
    with pytest.raises(ValueError, match='downsample'):
        MODELS.build(dict(cfg, downsample=0))
    with pytest.raises(ValueError, match='expected 8 input channels'):
        pooled(torch.randn(1, 4, 4, 4))
