"""TokenCrossAttention on token segments equals the map-based cross-attention it was split from."""

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmkem  # noqa: F401  (registers the modules)
from mmkem.models.layers import TokenCrossAttention, merge_tokens, split_tokens


def map_based(core, feats, return_attention=False):
    """``TaskCrossAttention.forward`` as it was before the token core (on ``core``'s weights)."""
    batch, channels, height, width = feats[0].shape
    x = torch.cat([feat.flatten(2) for feat in feats], dim=2).transpose(1, 2)  # (B, n_s, C)
    qkv = core.qkv(core.norm(x)).unflatten(-1, (3, core.num_heads, core.head_dims))
    q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, H, n_s, dh)
    if return_attention:
        attention = (q @ k.mT * core.head_dims**-0.5).softmax(-1)
        update = attention @ v
    else:
        update = F.scaled_dot_product_attention(q, k, v)
    out = x + core.residual_weight * update.transpose(1, 2).flatten(-2)
    outs = [
        tok.transpose(1, 2).reshape(batch, channels, height, width)
        for tok in out.split(height * width, dim=1)
    ]
    return (outs, dict(attention=attention)) if return_attention else outs


def make_core(num_heads=1, residual_weight=1.0):
    core = TokenCrossAttention(16, num_heads=num_heads, residual_weight=residual_weight)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():  # move every parameter (LayerNorm affine included) off its init
        for param in core.parameters():
            param.add_(0.3 * torch.randn(param.shape, generator=gen))
    return core


@pytest.mark.parametrize('num_heads', [1, 4])
@pytest.mark.parametrize('return_attention', [False, True])
def test_tokens_equal_the_map_based_result_bitwise(num_heads, return_attention):
    core = make_core(num_heads, residual_weight=0.5)
    gen = torch.Generator().manual_seed(0)
    feats = [torch.randn(2, 16, 3, 5, generator=gen).requires_grad_() for _ in range(3)]
    outs, attn = core(split_tokens(feats), return_attention=return_attention)
    outs = merge_tokens(outs, feats)
    expected = map_based(core, feats, return_attention)
    if return_attention:
        expected, expected_attn = expected
        assert torch.equal(attn['attention'], expected_attn['attention'])
    else:
        assert attn is None
    assert all(torch.equal(o, e) for o, e in zip(outs, expected))
    assert [o.stride() for o in outs] == [e.stride() for e in expected]  # same layout downstream
    weights = [torch.randn(o.shape, generator=gen) for o in outs]
    grads = torch.autograd.grad(sum((o * w).sum() for o, w in zip(outs, weights)), feats)
    e_grads = torch.autograd.grad(sum((o * w).sum() for o, w in zip(expected, weights)), feats)
    assert all(torch.equal(g, e) for g, e in zip(grads, e_grads))


def test_unequal_segments_equal_the_old_single_map_route():
    """What KEMMultiLevelNeck did before: all tokens as one ``(B, C, 1, n_s)`` "task map"."""
    core = make_core(num_heads=2)
    gen = torch.Generator().manual_seed(0)
    maps = [torch.randn(2, 16, h, w, generator=gen) for h, w in ((4, 6), (2, 3), (1, 2))]
    tokens = split_tokens(maps)
    lengths = [tok.shape[1] for tok in tokens]
    joined = torch.cat(tokens, dim=1).mT.unsqueeze(2)
    expected = map_based(core, [joined])[0].squeeze(2).mT.split(lengths, dim=1)
    outs, _ = core(tokens)
    assert [o.shape for o in outs] == [t.shape for t in tokens]
    assert all(torch.equal(o, e) for o, e in zip(outs, expected))
    assert [o.stride() for o in outs] == [e.stride() for e in expected]


def test_built_from_registry_and_argument_errors():
    init_default_scope('mmseg')
    core = MODELS.build(dict(type='TokenCrossAttention', embed_dims=8, num_heads=2))
    assert isinstance(core, TokenCrossAttention)
    assert sorted(core.state_dict()) == ['norm.bias', 'norm.weight', 'qkv.bias', 'qkv.weight']
    tokens = [torch.randn(1, 5, 8), torch.randn(1, 2, 8)]
    outs, attn = core(tokens, return_attention=True)
    assert [o.shape for o in outs] == [t.shape for t in tokens]
    assert attn['attention'].shape == (1, 2, 7, 7)
    with pytest.raises(ValueError, match='num_heads'):
        TokenCrossAttention(8, num_heads=3)
    with pytest.raises(ValueError, match='embed_dims'):
        TokenCrossAttention(0)
    with pytest.raises(ValueError, match=r'tokens\[1\] must have shape'):
        core([torch.randn(1, 5, 8), torch.randn(1, 5, 4)])
    with pytest.raises(ValueError, match='non-empty list'):
        core([])
