"""Plain references of KEM, sKEM and cross-attention, written from a module's weights, and the
helpers their tests share (tests/test_models/test_layers and test_interactions): eqs. 1-4 as the
paper writes them, with explicit loops and no fused kernels, to compare the modules against."""

import math

import torch
import torch.nn.functional as F

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
    core = neck.core
    batch, channels, height, width = feats[0].shape
    x = torch.cat([f.flatten(2).transpose(1, 2) for f in feats], dim=1)
    xn = F.layer_norm(x, (channels,), core.norm.weight, core.norm.bias, core.norm.eps)
    q, k, v = F.linear(xn, core.qkv.weight, core.qkv.bias).chunk(3, dim=-1)
    heads, dh = core.num_heads, channels // core.num_heads
    update = torch.zeros_like(x)
    maps = []
    for h in range(heads):
        sl = slice(h * dh, (h + 1) * dh)
        attn = torch.softmax(q[..., sl] @ k[..., sl].transpose(1, 2) / math.sqrt(dh), -1)
        maps.append(attn)
        update[..., sl] = attn @ v[..., sl]
    out = x + core.residual_weight * update
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
