"""MathSDPAHook: attention runs on the math kernel during training iterations, so the second-order
gradients of Rep-MTL pass the ViT blocks."""

import torch
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmkem  # noqa: F401
from mmkem.engine.hooks import MathSDPAHook, train_iter_attention


def test_math_sdpa_hook_makes_vit_blocks_twice_differentiable():
    init_default_scope('mmseg')
    blocks = MODELS.build(dict(type='ViTBlocks', embed_dims=8, num_layers=1, num_heads=2))
    z = torch.randn(2, 8, 3, 4, requires_grad=True)
    hook = MathSDPAHook()
    hook.before_train_iter(runner=None, batch_idx=0)
    try:
        out = blocks(z)
        (saliency,) = torch.autograd.grad(out.square().mean(), z, create_graph=True)
        saliency.abs().sum().backward()
    finally:
        hook.after_train_iter(runner=None, batch_idx=0)
    assert hook._context is None
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in blocks.parameters())


def _twice_differentiable(blocks):
    z = torch.randn(2, 8, 3, 4, requires_grad=True)
    (saliency,) = torch.autograd.grad(blocks(z).square().mean(), z, create_graph=True)
    saliency.abs().sum().backward()


def test_train_iter_attention_follows_the_configs_hook():
    """What the cost tools enter around a training step: the math kernel exactly when the
    config trains with MathSDPAHook (by name or as a built hook)."""
    init_default_scope('mmseg')
    blocks = MODELS.build(dict(type='ViTBlocks', embed_dims=8, num_layers=1, num_heads=2))
    for hooks in ([dict(type='MathSDPAHook')], [MathSDPAHook()]):
        cfg = ConfigDict(custom_hooks=[dict(type='RNGStateHook'), *hooks])
        with train_iter_attention(cfg):
            _twice_differentiable(blocks)
    plain = train_iter_attention(ConfigDict(custom_hooks=[dict(type='RNGStateHook')]))
    assert type(plain).__name__ == 'nullcontext'
    assert type(train_iter_attention(ConfigDict())).__name__ == 'nullcontext'
