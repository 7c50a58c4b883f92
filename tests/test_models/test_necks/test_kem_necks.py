"""KEM, SKEM and TaskCrossAttention against plain references computed here from their weights."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from torch.utils._python_dispatch import TorchDispatchMode

import mmkem  # noqa: F401  (registers the necks)
from mmkem.models.necks import KEM, SKEM, KEMCore, TaskCrossAttention, simplex_etf

B, C, H, W = 2, 12, 3, 4


def make_feats(num_tasks=3, channels=C, height=H, width=W, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [
        torch.randn(B, channels, height, width, generator=gen, dtype=torch.double).requires_grad_()
        for _ in range(num_tasks)
    ]


def perturbed(module, seed=1):
    """Double precision copy with every parameter (LayerNorm affine included) moved off its init."""
    module = module.double()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in module.parameters():
            param.add_(0.3 * torch.randn(param.shape, generator=gen, dtype=param.dtype))
    return module


# ----------------------------------------------------------------------------- plain references
def ref_kem(neck, feats):
    """Eqs. 1-3 (and 7) with explicit per-head loops; returns outputs, retrieve and write maps."""
    core = neck.core
    n, (batch, channels, height, width) = len(feats), feats[0].shape
    x = torch.cat([f.flatten(2).transpose(1, 2) for f in feats], dim=1)  # (B, N, C), task-major
    num_tokens = x.shape[1]
    xn = F.layer_norm(
        x, (channels,), core.norm_tokens.weight, core.norm_tokens.bias, core.norm_tokens.eps
    )
    q = F.linear(core.memory, core.q_r.weight, core.q_r.bias)  # (L, C)
    key = F.linear(xn, core.k_r.weight, core.k_r.bias)
    value = F.linear(xn, core.v_r.weight, core.v_r.bias)
    heads, dh = core.num_heads, channels // core.num_heads
    k = min(core.topk, num_tokens)
    memory = torch.zeros(batch, core.num_slots, channels, dtype=x.dtype)
    retrieves = []
    for h in range(heads):
        sl = slice(h * dh, (h + 1) * dh)
        if core.etf_mode == 'feature':
            scale = core.feature_scale or torch.exp(core.log_feature_scale)
            q_e = F.normalize(q[:, sl] @ core.etf, dim=-1)
            k_e = F.normalize(key[..., sl] @ core.etf, dim=-1)
            logits = scale * torch.einsum('lk,bnk->bln', q_e, k_e)
        else:
            logits = torch.einsum('lc,bnc->bln', q[:, sl], key[..., sl]) / math.sqrt(dh)
        if core.etf_mode == 'task_axis':
            per_task = logits.reshape(batch, core.num_slots, n, num_tokens // n)
            logits = torch.einsum('it,bltm->blim', core.etf, per_task).reshape(logits.shape)
        keep = torch.zeros_like(logits)
        keep.scatter_(-1, logits.argsort(-1, descending=True)[..., :k], 1.0)
        if core.topk_mode == 'mask_logits':
            expo = torch.exp(logits - logits.max(-1, keepdim=True).values) * keep
            prob = expo / expo.sum(-1, keepdim=True)
        else:
            prob = torch.softmax(logits, -1) * keep
        retrieves.append(prob)
        memory[..., sl] = prob @ value[..., sl]
    mem_n = F.layer_norm(
        memory, (channels,), core.norm_memory.weight, core.norm_memory.bias, core.norm_memory.eps
    )
    q_w = F.linear(xn, core.q_w.weight, core.q_w.bias)
    k_w = F.linear(mem_n, core.k_w.weight, core.k_w.bias)
    v_w = F.linear(mem_n, core.v_w.weight, core.v_w.bias)
    update = torch.zeros_like(x)
    writes = []
    for h in range(heads):
        sl = slice(h * dh, (h + 1) * dh)
        write = torch.softmax(q_w[..., sl] @ k_w[..., sl].transpose(1, 2) / math.sqrt(dh), -1)
        writes.append(write)
        update[..., sl] = write @ v_w[..., sl]
    out = x + core.residual_weight * update
    outs = [
        t.transpose(1, 2).reshape(batch, channels, height, width)
        for t in out.split(height * width, dim=1)
    ]
    return outs, dict(retrieve=torch.stack(retrieves, 1), write=torch.stack(writes, 1))


def ref_cross_attention(neck, feats):
    batch, channels, height, width = feats[0].shape
    x = torch.cat([f.flatten(2).transpose(1, 2) for f in feats], dim=1)
    xn = F.layer_norm(x, (channels,), neck.norm.weight, neck.norm.bias, neck.norm.eps)
    q, k, v = F.linear(xn, neck.qkv.weight, neck.qkv.bias).chunk(3, dim=-1)
    heads, dh = neck.num_heads, channels // neck.num_heads
    update = torch.zeros_like(x)
    maps = []
    for h in range(heads):
        sl = slice(h * dh, (h + 1) * dh)
        attn = torch.softmax(q[..., sl] @ k[..., sl].transpose(1, 2) / math.sqrt(dh), -1)
        maps.append(attn)
        update[..., sl] = attn @ v[..., sl]
    out = x + neck.residual_weight * update
    outs = [
        t.transpose(1, 2).reshape(batch, channels, height, width)
        for t in out.split(height * width, dim=1)
    ]
    return outs, dict(attention=torch.stack(maps, 1))


def outputs_and_grads(fn, module, feats, seed=3):
    """Outputs, attention maps and gradients (inputs, then named parameters) of a fixed loss."""
    outs, attn = fn(module, feats)
    gen = torch.Generator().manual_seed(seed)
    loss = sum((o * torch.randn(o.shape, generator=gen, dtype=o.dtype)).sum() for o in outs)
    loss = loss + sum(
        (a * torch.randn(a.shape, generator=gen, dtype=a.dtype)).sum() for a in attn.values()
    )
    params = [p for _, p in module.named_parameters()]
    grads = torch.autograd.grad(loss, list(feats) + params, allow_unused=True)
    grads = [torch.zeros_like(t) if g is None else g for g, t in zip(grads, list(feats) + params)]
    return outs, attn, grads


def module_call(module, feats):
    return module(feats, return_attention=True)


def assert_all_close(xs, ys, atol=1e-10, rtol=1e-8):
    assert len(xs) == len(ys)
    for x, y in zip(xs, ys):
        torch.testing.assert_close(x, y, atol=atol, rtol=rtol)


# ----------------------------------------------------------------------------- KEM / SKEM
@pytest.mark.parametrize('impl', ['fast', 'plain'])
@pytest.mark.parametrize('topk_mode', ['mask_logits', 'mask_probs'])
@pytest.mark.parametrize('num_heads', [1, 3])
def test_kem_equals_reference(impl, topk_mode, num_heads):
    neck = perturbed(
        KEM(
            C,
            3,
            num_slots=4,
            topk=3,
            num_heads=num_heads,
            topk_mode=topk_mode,
            residual_weight=0.7,
            impl=impl,
        )
    )
    feats = make_feats()
    outs, attn, grads = outputs_and_grads(module_call, neck, feats)
    r_outs, r_attn, r_grads = outputs_and_grads(ref_kem, neck, feats)
    assert_all_close(outs, r_outs)
    assert_all_close([attn['retrieve'], attn['write']], [r_attn['retrieve'], r_attn['write']])
    assert_all_close(grads, r_grads)


@pytest.mark.parametrize('impl', ['fast', 'plain'])
@pytest.mark.parametrize('topk_mode', ['mask_logits', 'mask_probs'])
@pytest.mark.parametrize(
    'etf_kwargs',
    [
        dict(etf_mode='task_axis'),
        dict(etf_mode='feature', num_vertices=4),
        dict(etf_mode='feature', num_vertices=3, feature_scale=2.0),
    ],
)
def test_skem_equals_reference(impl, topk_mode, etf_kwargs):
    neck = perturbed(
        SKEM(C, 3, num_slots=4, topk=2, num_heads=2, topk_mode=topk_mode, impl=impl, **etf_kwargs)
    )
    feats = make_feats()
    outs, attn, grads = outputs_and_grads(module_call, neck, feats)
    r_outs, r_attn, r_grads = outputs_and_grads(ref_kem, neck, feats)
    assert_all_close(outs, r_outs)
    assert_all_close([attn['retrieve'], attn['write']], [r_attn['retrieve'], r_attn['write']])
    assert_all_close(grads, r_grads)


@pytest.mark.parametrize('topk_mode', ['mask_logits', 'mask_probs'])
@pytest.mark.parametrize('num_heads', [1, 2, 4])
@pytest.mark.parametrize('etf_mode', [None, 'task_axis', 'feature'])
def test_fast_equals_plain_float32(topk_mode, num_heads, etf_mode):
    kwargs = dict(etf_mode=etf_mode, num_vertices=2 if etf_mode == 'task_axis' else 3)
    fast = KEMCore(
        16,
        num_slots=5,
        topk=4,
        num_heads=num_heads,
        topk_mode=topk_mode,
        **(kwargs if etf_mode else {}),
    )
    plain = copy.deepcopy(fast)
    plain.impl = 'plain'
    gen = torch.Generator().manual_seed(0)
    maps = [torch.randn(2, 16, 5, 6, generator=gen).requires_grad_() for _ in range(2)]

    def run(core, _):
        outs, attn = core([m.flatten(2).mT for m in maps], return_attention=True)
        return outs, attn

    outs, attn, grads = outputs_and_grads(run, fast, maps)
    p_outs, p_attn, p_grads = outputs_and_grads(run, plain, maps)
    assert_all_close(outs, p_outs, atol=1e-5, rtol=1e-5)
    assert_all_close(list(attn.values()), list(p_attn.values()), atol=1e-5, rtol=1e-5)
    for g, p_g in zip(grads, p_grads):  # float32: tolerance relative to each gradient's scale
        torch.testing.assert_close(g, p_g, atol=3e-5 * (1 + p_g.abs().max().item()), rtol=1e-4)
    # the fast form keeps the channel-first layout: outputs are views of (B, C, N) tensors
    assert outs[0].mT.is_contiguous()


def test_row_major_tokens_and_unequal_segments():
    """The core also takes contiguous (B, N, C) tokens of different lengths (e.g. levels)."""
    core = perturbed(KEMCore(C, num_slots=3, topk=5))
    plain = copy.deepcopy(core)
    plain.impl = 'plain'
    gen = torch.Generator().manual_seed(0)
    tokens = [torch.randn(B, n, C, generator=gen, dtype=torch.double) for n in (7, 20, 3)]
    outs, _ = core(tokens)
    p_outs, _ = plain(tokens)
    assert [o.shape for o in outs] == [t.shape for t in tokens]
    assert_all_close(outs, p_outs)


def test_topk_clipped_with_warning():
    neck = perturbed(KEM(C, 2, num_slots=3, topk=50))
    feats = make_feats(num_tasks=2, height=2, width=3)  # 12 tokens < 50
    with pytest.warns(UserWarning, match='clipped to 12'):
        outs, attn, grads = outputs_and_grads(module_call, neck, feats)
    r_outs, r_attn, r_grads = outputs_and_grads(ref_kem, neck, feats)
    assert_all_close(outs, r_outs)
    assert_all_close(grads, r_grads)
    # all tokens kept: reading (a) is the plain softmax over the tokens
    assert (attn['retrieve'] > 0).all()


@pytest.mark.parametrize('impl', ['fast', 'plain'])
def test_ties_keep_exactly_k(impl):
    """Identical tokens tie; exactly k are kept per slot and the outputs do not depend on which."""
    neck = perturbed(KEM(C, 2, num_slots=4, topk=3, impl=impl))
    base = torch.randn(B, C, 1, 1, dtype=torch.double)
    feats = [base.expand(B, C, 2, 3).clone(), base.expand(B, C, 2, 3).clone()]  # 12 equal tokens
    outs, attn = neck(feats, return_attention=True)
    nonzero = (attn['retrieve'] > 0).sum(-1)
    assert (nonzero == 3).all()
    torch.testing.assert_close(
        attn['retrieve'].sum(-1), torch.ones_like(nonzero, dtype=torch.double)
    )
    other = copy.deepcopy(neck)
    other.core.impl = 'plain' if impl == 'fast' else 'fast'
    assert_all_close(outs, other(feats))


def test_mask_probs_is_not_renormalised():
    neck = perturbed(KEM(C, 3, num_slots=4, topk=2, topk_mode='mask_probs'))
    feats = make_feats()
    _, attn = neck(feats, return_attention=True)
    retrieve = attn['retrieve']
    assert ((retrieve > 0).sum(-1) == 2).all()
    assert (retrieve.sum(-1) < 1 - 1e-6).all()
    _, ref_attn = ref_kem(neck, feats)
    torch.testing.assert_close(retrieve, ref_attn['retrieve'])


def test_no_ns_by_ns_tensor_and_no_ns_d2_flops():
    """KEM (fast) never builds an n_s x n_s tensor, forward or backward, and its matmul FLOPs
    have no n_s d^2 term: far below the plain form's."""
    from torch.utils.flop_counter import FlopCounterMode

    neck = KEM(8, 2, num_slots=4, topk=3)
    feats = [torch.randn(1, 8, 16, 16, requires_grad=True) for _ in range(2)]
    n_s = 2 * 16 * 16

    class Largest(TorchDispatchMode):
        largest = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in out if isinstance(out, (tuple, list)) else [out]:
                if isinstance(t, torch.Tensor):
                    Largest.largest = max(Largest.largest, t.numel())
            return out

    with Largest():
        outs = neck(feats)
        sum(o.sum() for o in outs).backward()
    assert Largest.largest < n_s * n_s // 8
    assert Largest.largest <= n_s * 8  # nothing bigger than the tokens themselves

    big = [torch.randn(1, 64, 32, 32) for _ in range(2)]
    fast = KEM(64, 2, num_slots=4, topk=3)
    plain = KEM(64, 2, num_slots=4, topk=3, impl='plain')
    counts = []
    for neck in (fast, plain):
        with FlopCounterMode(display=False) as counter:
            neck(big)
        counts.append(counter.get_total_flops())
    n_s, d = 2048, 64
    assert counts[1] >= 2 * 3 * n_s * d * d  # the paper's 3 n_s d^2 projections
    assert counts[0] < counts[1] / 4


def test_second_order_gradients_need_plain():
    feats = make_feats(num_tasks=2)
    fast = perturbed(KEM(C, 2, num_slots=3))
    plain = copy.deepcopy(fast)
    plain.core.impl = 'plain'
    for neck, works in ((plain, True), (fast, False)):
        (grad,) = torch.autograd.grad(
            sum(o.square().sum() for o in neck(feats)), feats[0], create_graph=True
        )
        if works:
            grad.sum().backward()
        else:
            with pytest.raises(RuntimeError, match='once_differentiable'):
                grad.sum().backward()


# ----------------------------------------------------------------------------- ETF
@pytest.mark.parametrize('dim,k', [(2, 2), (3, 3), (16, 5), (64, 4)])
def test_etf_properties(dim, k):
    etf = simplex_etf(dim, k, seed=0).double()
    assert etf.shape == (dim, k)
    torch.testing.assert_close(etf.sum(1), torch.zeros(dim, dtype=torch.double), atol=1e-6, rtol=0)
    centering = torch.eye(k, dtype=torch.double) - 1.0 / k
    torch.testing.assert_close(etf.T @ etf, (k / (k - 1)) ** 2 * centering, atol=1e-6, rtol=0)
    # equiangular: all pairwise cosines between vertices (columns) are -1/(K-1)
    cols = F.normalize(etf, dim=0)
    cos = cols.T @ cols
    off = cos[~torch.eye(k, dtype=torch.bool)]
    torch.testing.assert_close(off, torch.full_like(off, -1.0 / (k - 1)), atol=1e-6, rtol=0)
    torch.testing.assert_close(simplex_etf(dim, k, seed=0), simplex_etf(dim, k, seed=0))
    assert not torch.allclose(simplex_etf(dim, k, seed=0), simplex_etf(dim, k, seed=1))


def test_etf_errors():
    with pytest.raises(ValueError, match='num_vertices'):
        simplex_etf(4, 1)
    with pytest.raises(ValueError, match='dim >= K'):
        simplex_etf(2, 3)


def test_task_axis_removes_common_logit():
    """W* a with a constant across tasks gives zero: the ETF mixing keeps only task contrast."""
    neck = SKEM(C, 3)
    torch.testing.assert_close(neck.core.etf @ torch.ones(3), torch.zeros(3), atol=1e-6, rtol=0)


def test_etf_is_a_seeded_buffer_in_the_state_dict():
    neck = SKEM(C, 3, etf_mode='feature', num_vertices=4, etf_seed=7)
    assert 'core.etf' in neck.state_dict()
    assert all(p is not neck.core.etf for p in neck.parameters())
    assert not neck.core.etf.requires_grad
    torch.testing.assert_close(neck.core.etf, simplex_etf(C, 4, seed=7))
    other = SKEM(C, 3, etf_mode='feature', num_vertices=4, etf_seed=8)
    other.load_state_dict(neck.state_dict())
    torch.testing.assert_close(other.core.etf, neck.core.etf)


# ----------------------------------------------------------------------------- baseline
@pytest.mark.parametrize('num_heads', [1, 4])
def test_cross_attention_equals_reference(num_heads):
    neck = perturbed(TaskCrossAttention(C, 3, num_heads=num_heads, residual_weight=0.5))
    feats = make_feats()
    outs, attn, grads = outputs_and_grads(module_call, neck, feats)
    r_outs, r_attn, r_grads = outputs_and_grads(ref_cross_attention, neck, feats)
    assert_all_close(outs, r_outs)
    assert_all_close([attn['attention']], [r_attn['attention']])
    assert_all_close(grads, r_grads)
    # the SDPA path (no attention returned) gives the same outputs and input gradients
    sdpa_outs = neck(feats)
    r_outs, _ = ref_cross_attention(neck, feats)
    assert_all_close(sdpa_outs, r_outs)
    gen = torch.Generator().manual_seed(3)
    weights = [torch.randn(o.shape, generator=gen, dtype=o.dtype) for o in outs]
    g_sdpa = torch.autograd.grad(sum((o * w).sum() for o, w in zip(sdpa_outs, weights)), feats)
    g_ref = torch.autograd.grad(sum((o * w).sum() for o, w in zip(r_outs, weights)), feats)
    assert_all_close(g_sdpa, g_ref)


# ----------------------------------------------------------------------------- contract
@pytest.mark.parametrize(
    'cfg',
    [
        dict(type='KEM', in_channels=C, num_tasks=3, num_slots=5, topk=2, num_heads=2),
        dict(type='SKEM', in_channels=C, num_tasks=3, num_slots=5),
        dict(type='SKEM', in_channels=C, num_tasks=3, etf_mode='feature', num_vertices=4),
        dict(type='TaskCrossAttention', in_channels=C, num_tasks=3, num_heads=2),
    ],
)
def test_build_from_config_shapes_and_state_dict(cfg):
    init_default_scope('mmseg')
    neck = MODELS.build(cfg)
    feats = [f.detach().float() for f in make_feats(height=5, width=2)]
    outs = neck(feats)
    assert isinstance(outs, list) and len(outs) == 3
    assert all(o.shape == f.shape for o, f in zip(outs, feats))
    outs, attn = neck(feats, return_attention=True)
    n_s, heads = 3 * 5 * 2, cfg.get('num_heads', 1)
    if cfg['type'] == 'TaskCrossAttention':
        assert attn['attention'].shape == (B, heads, n_s, n_s)
    else:
        assert attn['retrieve'].shape == (B, heads, cfg.get('num_slots', 20), n_s)
        assert attn['write'].shape == (B, heads, n_s, cfg.get('num_slots', 20))
    # state-dict round trip into a freshly built (differently initialised) module
    torch.manual_seed(123)
    other = MODELS.build(cfg)
    other.load_state_dict(neck.state_dict())
    assert_all_close(other(feats), neck(feats), atol=0, rtol=0)


@pytest.mark.parametrize(
    'kwargs,match',
    [
        (dict(topk=0), 'topk'),
        (dict(num_slots=0), 'num_slots'),
        (dict(num_heads=5), 'num_heads'),
        (dict(topk_mode='soft'), 'topk_mode'),
        (dict(impl='cuda'), 'impl'),
        (dict(num_tasks=0), 'num_tasks'),
    ],
)
def test_kem_argument_errors(kwargs, match):
    args = dict(in_channels=C, num_tasks=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        KEM(**args)


def test_skem_argument_errors():
    with pytest.raises(ValueError, match='num_vertices must equal'):
        SKEM(C, 3, num_vertices=4)
    with pytest.raises(ValueError, match='num_vertices'):
        SKEM(C, 3, etf_mode='feature', num_vertices=C + 1)
    with pytest.raises(ValueError, match='etf_mode'):
        SKEM(C, 3, etf_mode='tasks')
    with pytest.raises(ValueError, match='>= 2 tasks'):
        SKEM(C, 1)
    with pytest.warns(UserWarning, match='degenerate'):
        SKEM(C, 2, etf_mode='feature')
    with pytest.raises(ValueError, match='num_heads'):
        TaskCrossAttention(C, 2, num_heads=5)


@pytest.mark.parametrize('neck', [KEM(C, 2), SKEM(C, 2), TaskCrossAttention(C, 2)])
def test_call_errors(neck):
    good = torch.randn(1, C, 2, 2)
    with pytest.raises(ValueError, match='num_tasks=2'):
        neck([good])
    with pytest.raises(ValueError, match='same shape'):
        neck([good, torch.randn(1, C, 2, 3)])
    with pytest.raises(ValueError, match='C=12'):
        neck([good, torch.randn(1, C + 1, 2, 2)])
    with pytest.raises(ValueError, match='list'):
        neck(good)
