"""KEMMultiLevelNeck against a plain computation written here from the module's own weights."""

import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from torch import nn

import mmkem  # noqa: F401  (registers the necks)
from mmkem.models.layers import KEMCore
from mmkem.models.necks import KEMMultiLevelNeck

WIDTHS = (6, 10, 12)
SIZES = ((8, 10), (4, 5), (2, 3))


def make_inputs(batch=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return tuple(
        torch.randn(batch, c, h, w, generator=gen, dtype=torch.double).requires_grad_()
        for c, (h, w) in zip(WIDTHS, SIZES)
    )


def build(**kwargs):
    init_default_scope('mmseg')
    cfg = dict(
        type='KEMMultiLevelNeck',
        in_channels=list(WIDTHS),
        embed_dims=8,
        mixer=dict(type='KEMCore', topk=4),
    )
    cfg.update(kwargs)
    neck = MODELS.build(cfg).double()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():  # move every parameter (LayerNorm affine included) off its init
        for param in neck.parameters():
            param.add_(0.3 * torch.randn(param.shape, generator=gen, dtype=param.dtype))
    return neck


def conv1x1(x, conv):
    return torch.einsum('oc,bchw->bohw', conv.weight[:, :, 0, 0], x) + conv.bias.view(1, -1, 1, 1)


def reference(neck, inputs):
    """Project, pool, run the memory with the core's plain form, project back, add."""
    maps = []
    for conv, stride, i in zip(neck.proj_in, neck.strides, neck.in_index):
        x = conv1x1(inputs[i], conv)
        if stride > 1:  # ceil-mode average pooling: windows clipped at the border
            h, w = x.shape[-2:]
            rows = [
                torch.stack(
                    [
                        x[..., r : r + stride, c : c + stride].mean((-2, -1))
                        for c in range(0, w, stride)
                    ],
                    dim=-1,
                )
                for r in range(0, h, stride)
            ]
            x = torch.stack(rows, dim=-2)
        maps.append(x)
    tokens = [x.flatten(2).transpose(1, 2).contiguous() for x in maps]
    if isinstance(neck.mixer, KEMCore):
        plain = copy.deepcopy(neck.mixer)
        plain.impl = 'plain'
        mixed = plain(tokens)[0]
    else:  # eq. 4 over the concatenated tokens, one head
        ca = neck.mixer
        x = torch.cat(tokens, dim=1)
        q, k, v = ca.qkv(ca.norm(x)).chunk(3, dim=-1)
        att = (q @ k.transpose(1, 2) / q.shape[-1] ** 0.5).softmax(-1)
        mixed = (x + ca.residual_weight * att @ v).split([t.shape[1] for t in tokens], dim=1)
    outs = list(inputs)
    for conv, x, tok, i in zip(neck.proj_out, maps, mixed, neck.in_index):
        update = conv1x1(tok.transpose(1, 2).reshape(x.shape) - x, conv)
        update = F.interpolate(update, size=inputs[i].shape[-2:], mode='bilinear')
        outs[i] = inputs[i] + update
    return outs


@pytest.mark.parametrize(
    'kwargs',
    [
        dict(),
        dict(mixer=dict(type='KEMCore', topk=4, etf_mode='feature', num_vertices=4)),
        dict(mixer=dict(type='TokenCrossAttention')),
        dict(in_index=[0, 2], strides=[2, 1]),
        dict(strides=2, mixer=dict(type='KEMCore', topk=4, num_heads=2, topk_mode='mask_probs')),
    ],
)
def test_matches_plain_reference_and_keeps_shapes(kwargs):
    neck = build(**kwargs)
    inputs = make_inputs()
    outs = neck(inputs)
    assert isinstance(outs, tuple) and len(outs) == len(inputs)
    expected = reference(neck, inputs)
    for i, (out, exp, inp) in enumerate(zip(outs, expected, inputs)):
        assert out.shape == inp.shape
        if i in neck.in_index:
            torch.testing.assert_close(out, exp, rtol=1e-9, atol=1e-9)
            assert not torch.allclose(out, inp)  # the neck did change the level
        else:
            assert out is inp  # passes through untouched


def test_levels_exchange_information_and_gradients_flow():
    neck = build(strides=[2, 1, 1])
    inputs = make_inputs()
    outs = neck(inputs)
    # the smallest level's output depends on the largest level's input (one shared memory)
    grad = torch.autograd.grad(outs[2].sum(), inputs[0], retain_graph=True)[0]
    assert grad.abs().sum() > 0
    sum(o.square().sum() for o in outs).backward()
    for name, param in neck.named_parameters():
        if name == 'mixer.memory' or 'etf' in name:
            continue
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert neck.mixer.memory.grad is not None


def test_zero_init_output_starts_as_identity():
    init_default_scope('mmseg')
    neck = KEMMultiLevelNeck(list(WIDTHS), embed_dims=8, zero_init_output=True).double()
    inputs = make_inputs()
    outs = neck(inputs)
    for out, inp in zip(outs, inputs):
        torch.testing.assert_close(out, inp, rtol=0, atol=0)
    sum(o.sum() for o in outs).backward()
    assert all(conv.weight.grad.abs().sum() > 0 for conv in neck.proj_out)


@pytest.mark.parametrize(
    'kwargs, match',
    [
        (dict(mixer=dict(type='KEMCore', etf_mode='task_axis', num_vertices=3)), 'task_axis'),
        (dict(mixer='kem'), 'config dict'),
        (dict(mixer=dict(type='Attention')), "'Attention' is not registered"),
        (dict(mixer=dict(type='KEMCore', embed_dims=16)), 'embed_dims=16'),
        (dict(mixer=dict(type='KEMCore', etf_mode='feature')), 'num_vertices'),
        (dict(in_index=[0, 3]), 'in_index'),
        (dict(in_index=[1, 1]), 'in_index'),
        (dict(strides=[2, 1]), 'strides'),
        (dict(strides=0), 'strides'),
        (dict(in_channels=[]), 'in_channels'),
    ],
)
def test_rejects_bad_arguments(kwargs, match):
    init_default_scope('mmseg')
    args = dict(in_channels=list(WIDTHS), embed_dims=8)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        KEMMultiLevelNeck(**args)


def test_rejects_arguments_of_another_mixer():
    """A KEM argument given to the cross-attention mixer fails where that mixer is built."""
    init_default_scope('mmseg')
    with pytest.raises(TypeError, match='impl'):
        KEMMultiLevelNeck(
            list(WIDTHS), embed_dims=8, mixer=dict(type='TokenCrossAttention', impl='plain')
        )


class DoublingMixer(nn.Module):
    """A token mixer registered by this test: ``x' = 2 x`` (so the update is ``x``)."""

    def __init__(self, embed_dims: int, note: str = '') -> None:
        super().__init__()
        self.embed_dims, self.note = embed_dims, note
        self.calls = []

    def forward(self, tokens, return_attention=False):
        self.calls.append([tuple(t.shape) for t in tokens])
        return [2 * t for t in tokens], None


def test_builds_any_registered_mixer_from_its_config():
    init_default_scope('mmseg')
    MODELS.register_module(name='DoublingMixerForTest', module=DoublingMixer, force=True)
    neck = KEMMultiLevelNeck(
        list(WIDTHS),
        embed_dims=8,
        strides=[2, 1, 1],
        mixer=dict(type='DoublingMixerForTest', note='x'),
    ).double()
    assert type(neck.mixer) is DoublingMixer
    assert (neck.mixer.embed_dims, neck.mixer.note) == (8, 'x')  # embed_dims filled in
    inputs = make_inputs()
    outs = neck(inputs)
    assert neck.mixer.calls == [[(2, 20, 8), (2, 20, 8), (2, 6, 8)]]  # all levels at once
    for conv_in, conv_out, stride, inp, out in zip(
        neck.proj_in, neck.proj_out, neck.strides, inputs, outs
    ):
        x = F.avg_pool2d(conv1x1(inp, conv_in), stride, stride, ceil_mode=True)
        update = F.interpolate(conv1x1(x, conv_out), size=inp.shape[-2:], mode='bilinear')
        torch.testing.assert_close(out, inp + update, rtol=1e-12, atol=1e-12)


def test_rejects_wrong_inputs():
    neck = KEMMultiLevelNeck(list(WIDTHS), embed_dims=8)
    inputs = [x.float().detach() for x in make_inputs()]
    with pytest.raises(ValueError, match='expects 3 maps'):
        neck(inputs[:2])
    with pytest.raises(ValueError, match=r'inputs\[1\] must be'):
        neck([inputs[0], inputs[2], inputs[2]])
