"""KEMCore, sKEM and the cross-attention core on a CUDA device (marked ``cuda``: skipped, with the
reason, without one; ``tools/gpu_check.sh`` runs them): the fast form against the plain one in
float32 (TF32 off, then on) and under autocast (bfloat16, float16), and cross-attention on the
fused SDPA kernels against its explicit form."""

import copy

import pytest
import torch

from mmkem.models.layers import KEMCore, TokenCrossAttention

pytestmark = pytest.mark.cuda

CONFIGS = [
    dict(),
    dict(num_heads=4),
    dict(etf_mode='task_axis', num_vertices=2),
    dict(etf_mode='feature', num_vertices=8, num_heads=2),
    dict(topk_mode='mask_probs'),
]


def _pair(cfg, channels=64):
    torch.manual_seed(0)
    fast = KEMCore(channels, num_slots=20, topk=3, **cfg).cuda()
    plain = copy.deepcopy(fast)
    plain.impl = 'plain'
    return fast, plain


def _maps(channels=64, size=(16, 24), seed=1):
    gen = torch.Generator(device='cuda').manual_seed(seed)
    return [
        torch.randn(2, channels, *size, device='cuda', generator=gen).requires_grad_()
        for _ in range(2)
    ]


def _run(core, maps, dtype=None):
    with torch.autocast('cuda', dtype=dtype or torch.float16, enabled=dtype is not None):
        outs, attn = core([m.flatten(2).mT for m in maps], return_attention=True)
    gen = torch.Generator(device='cuda').manual_seed(2)
    loss = sum((o.float() * torch.randn(o.shape, device='cuda', generator=gen)).sum() for o in outs)
    inputs = list(maps) + [p for p in core.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, inputs, allow_unused=True)
    grads = [torch.zeros_like(t) if g is None else g for g, t in zip(grads, inputs)]
    return [o.float() for o in outs], attn, grads


def _close(xs, ys, rtol):
    for x, y in zip(xs, ys):
        scale = y.abs().max().item()  # float32: the tolerance follows each tensor's scale
        torch.testing.assert_close(x.float(), y.float(), atol=rtol * (1 + scale), rtol=rtol)


@pytest.mark.parametrize('cfg', CONFIGS)
@pytest.mark.parametrize('tf32', [False, True])
def test_fast_equals_plain_on_cuda_float32(cfg, tf32):
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    try:
        _check_fast_equals_plain(cfg, tf32)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


def _check_fast_equals_plain(cfg, tf32):
    fast, plain = _pair(cfg)
    maps = _maps()
    outs, attn, grads = _run(fast, maps)
    p_outs, p_attn, p_grads = _run(plain, maps)
    rtol = 2e-2 if tf32 else 1e-4  # TF32 keeps 10 mantissa bits; a near tie may pick another k
    _close(outs, p_outs, rtol)
    if not tf32:
        _close(list(attn.values()), list(p_attn.values()), rtol)
        _close(grads, p_grads, 1e-3)
    assert outs[0].is_cuda and outs[0].mT.is_contiguous()  # channel-first layout kept


@pytest.mark.parametrize('cfg', CONFIGS)
@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_under_autocast_both_forms_stay_near_float32(cfg, dtype):
    """The fast form runs in float32 inside autocast (so it equals its float32 self); the plain
    form takes its top-k and softmaxes in float32 (half-precision matmuls around them)."""
    fast, plain = _pair(cfg)
    maps = _maps()
    ref_outs, _, ref_grads = _run(fast, maps)
    outs, attn, grads = _run(fast, maps, dtype)
    _close(outs, ref_outs, 1e-4)
    assert all(torch.isfinite(g).all() for g in grads)
    p_outs, p_attn, p_grads = _run(plain, maps, dtype)
    assert p_attn['retrieve'].dtype == torch.float32
    _close(p_outs, ref_outs, 5e-2)
    assert all(torch.isfinite(g).all() for g in p_grads)


@pytest.mark.parametrize('backend', ['FLASH_ATTENTION', 'EFFICIENT_ATTENTION'])
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_cross_attention_on_the_fused_kernels(backend, dtype):
    """TaskCrossAttention's SDPA path on each fused kernel (half precision, the inputs they take)
    against its explicit float32 path, outputs and gradients."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    torch.manual_seed(0)
    core = TokenCrossAttention(64, num_heads=2).cuda()
    maps = _maps()
    tokens = lambda: [m.flatten(2).mT for m in maps]  # noqa: E731
    ref, _ = core(tokens(), return_attention=True)
    ref_grads = torch.autograd.grad(sum(o.sum() for o in ref), maps)
    with sdpa_kernel(getattr(SDPBackend, backend)), torch.autocast('cuda', dtype=dtype):
        outs, _ = core(tokens())
        grads = torch.autograd.grad(sum(o.float().sum() for o in outs), maps)
    _close(outs, ref, 2e-2)
    _close(grads, ref_grads, 5e-2)


def test_interaction_modules_train_a_step_on_cuda():
    """KEM, both sKEM readings and cross-attention as built by the registry, forward+backward."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmkem  # noqa: F401

    init_default_scope('mmseg')
    for cfg in [
        dict(type='KEM'),
        dict(type='SKEM', etf_mode='task_axis'),
        dict(type='SKEM', etf_mode='feature', num_vertices=8),
        dict(type='TaskCrossAttention'),
    ]:
        module = MODELS.build(dict(cfg, in_channels=64, num_tasks=2)).cuda()
        maps = _maps()
        with torch.autocast('cuda', dtype=torch.bfloat16):
            outs = module(maps)
        sum(o.float().square().mean() for o in outs).backward()
        assert all(torch.isfinite(m.grad).all() for m in maps), cfg
