"""RepMTLRegularizer: TSR and CSA against loop-by-loop references, the second-order path, and a
2-iteration training of the KEM + Rep-MTL demo config on the NYUD-v2 demo data."""

import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmkem  # noqa: F401
from mmkem.apis import build_runner
from mmkem.models.regularizers import csa_loss, tsr_loss
from mmkem.testing import shrink_train_config, write_tiny_nyud

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


# ------------------------------------------------------------------ plain references
def reference_tsr(s):
    """Entropy of the across-task distribution of |channel-mean saliency|, position by position."""
    num_tasks, batch, channels, height, width = s.shape
    entropies = []
    for b in range(batch):
        for y in range(height):
            for x in range(width):
                strengths = [abs(sum(s[t, b, c, y, x] for c in range(channels)) / channels)
                             for t in range(num_tasks)]  # fmt: skip
                total = sum(strengths)
                probs = [v / total for v in strengths]
                entropies.append(-sum(p * torch.log(p) for p in probs if p > 0))
    return sum(entropies) / len(entropies)


def reference_csa(s, tau):
    """InfoNCE per task and sample, written with explicit sums."""
    num_tasks, batch, channels = s.shape[:3]

    def unit(m):
        return m.flatten() / m.flatten().norm()

    anchors = []
    for b in range(batch):
        cols = torch.stack([s[t, b].flatten(1).mean(1) for t in range(num_tasks)], dim=1)  # (C, T)
        anchors.append(unit(cols @ cols.t()))
    terms = []
    for t in range(num_tasks):
        for b in range(batch):
            mat = s[t, b].flatten(1)
            positive = torch.exp(torch.dot(anchors[b], unit(mat @ mat.t())) / tau)
            negatives = sum(
                torch.exp(torch.dot(anchors[b], anchors[k]) / tau) for k in range(batch) if k != b
            )
            terms.append(-torch.log(positive / (positive + negatives)))
    return sum(terms) / len(terms)


def test_tsr_matches_reference():
    s = torch.randn(3, 2, 4, 3, 2, dtype=torch.float64)
    s[:, 0, :, 0, 0] = 0  # a position where no task is salient: entropy 0
    assert torch.allclose(tsr_loss(s), reference_tsr(s))
    # Two tasks with equal strength everywhere: log 2.
    t = torch.randn(1, 2, 4, 3, 3, dtype=torch.float64).expand(2, -1, -1, -1, -1)
    assert torch.allclose(tsr_loss(t), torch.tensor(math.log(2), dtype=torch.float64))


@pytest.mark.parametrize('tau', [0.1, 0.5])
def test_csa_matches_reference(tau):
    s = torch.randn(3, 4, 5, 2, 3, dtype=torch.float64)
    assert torch.allclose(csa_loss(s, temperature=tau), reference_csa(s, tau))


def test_csa_single_sample_has_no_negatives():
    s = torch.randn(2, 1, 3, 2, 2, requires_grad=True)
    loss = csa_loss(s)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    loss.backward()  # still differentiable


# ------------------------------------------------------------------ a hand-built two-task model
def tiny_problem():
    """Z = a 1x1 conv of x; head t: y_t = <w_t, Z> per position; L_t = mean((y_t - g_t)^2).

    dL_t/dZ is then known in closed form: 2 / N (y_t - g_t) w_t, broadcast over channels.
    """
    x = torch.randn(3, 2, 4, 5, dtype=torch.float64)
    backbone = torch.randn(6, 2, dtype=torch.float64, requires_grad=True)
    heads = [torch.randn(6, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    targets = [torch.randn(3, 4, 5, dtype=torch.float64) for _ in range(2)]
    return x, backbone, heads, targets


def forward(x, backbone, heads, targets):
    z = torch.einsum('oc,bchw->bohw', backbone, x)
    preds = [torch.einsum('c,bchw->bhw', w, z) for w in heads]
    losses = {f't{i}': ((p - g) ** 2).mean() for i, (p, g) in enumerate(zip(preds, targets))}
    return z, preds, losses


def build(**kwargs):
    init_default_scope('mmseg')
    return MODELS.build(dict(type='RepMTLRegularizer', **kwargs))


def test_regularizer_values_keys_and_scale_invariance():
    x, backbone, heads, targets = tiny_problem()
    z, preds, losses = forward(x, backbone, heads, targets)
    n = preds[0].numel()
    s = torch.stack([(2 / n) * ((p - g).unsqueeze(1) * w.view(1, -1, 1, 1)).expand_as(z)
                     for p, g, w in zip(preds, targets, heads)])  # fmt: skip
    out = build(lambda_tsr=0.5, lambda_csa=2.0, temperature=0.2)(losses, z)
    assert set(out) == {'loss_tsr', 'loss_csa', 'tsr', 'csa'}
    assert torch.allclose(out['tsr'], reference_tsr(s))
    assert torch.allclose(out['csa'], reference_csa(s, 0.2))
    assert torch.allclose(out['loss_tsr'], 0.5 * reference_tsr(s))
    assert torch.allclose(out['loss_csa'], 2.0 * reference_csa(s, 0.2))
    assert not out['tsr'].requires_grad and not out['csa'].requires_grad
    # Both terms ignore a common scale of the saliencies, even far below the numeric floors.
    tiny = build(lambda_tsr=0.5, lambda_csa=2.0, temperature=0.2)(
        {k: v * 1e-20 for k, v in losses.items()}, z
    )
    assert torch.allclose(tiny['tsr'], out['tsr']) and torch.allclose(tiny['csa'], out['csa'])


def test_second_order_gradient_matches_closed_form_saliency():
    """The regulariser's gradient w.r.t. each head weight (task-specific, reached only through
    dL_t/dZ) and w.r.t. the shared weight equals autograd through the closed-form saliency."""
    x, backbone, heads, targets = tiny_problem()
    params = [backbone, *heads]

    z, preds, losses = forward(x, backbone, heads, targets)
    out = build(temperature=0.3)(losses, z)
    got = torch.autograd.grad(out['loss_tsr'] + out['loss_csa'], params)

    z, preds, _ = forward(x, backbone, heads, targets)
    n = preds[0].numel()
    s = torch.stack([(2 / n) * ((p - g).unsqueeze(1) * w.view(1, -1, 1, 1)).expand_as(z)
                     for p, g, w in zip(preds, targets, heads)])  # fmt: skip
    expected = torch.autograd.grad(reference_tsr(s) + reference_csa(s, 0.3), params)
    for g, e in zip(got, expected):
        assert g.abs().sum() > 0
        assert torch.allclose(g, e, rtol=1e-6, atol=1e-10)


def test_first_order_mode_logs_without_gradient():
    x, backbone, heads, targets = tiny_problem()
    z, _, losses = forward(x, backbone, heads, targets)
    second = build()(losses, z)
    first = build(second_order=False)(losses, z)
    assert torch.allclose(first['loss_tsr'], second['loss_tsr'].detach())
    assert torch.allclose(first['loss_csa'], second['loss_csa'].detach())
    assert not first['loss_tsr'].requires_grad and not first['loss_csa'].requires_grad


def test_errors():
    with pytest.raises(ValueError, match='temperature'):
        build(temperature=0)
    with pytest.raises(ValueError, match='lambda_tsr'):
        build(lambda_tsr=-1)
    x, backbone, heads, targets = tiny_problem()
    z, _, losses = forward(x, backbone, heads, targets)
    with pytest.raises(ValueError, match='at least two tasks'):
        build()({'t0': losses['t0']}, z)
    with pytest.raises(ValueError, match='does not require grad'):
        build()(losses, z.detach())


def test_kem_demo_config_trains_with_rep_mtl(tmp_path):
    data_root = str(tmp_path / 'nyud_demo')
    write_tiny_nyud(data_root, num_train=4, num_val=2, size=(64, 80), seed=0, num_real=1)
    cfg = Config.fromfile(osp.join(REPO, 'configs/rep_mtl/kem-rep-mtl_effnet-lite0_nyud-demo.py'))
    shrink_train_config(cfg, data_root, str(tmp_path / 'work'), max_iters=2, batch_size=2)
    cfg.train_dataloader.dataset.pipeline[2].scale = (80, 64)
    cfg.train_dataloader.dataset.pipeline[3].crop_size = (64, 64)
    cfg.param_scheduler[0].end = 2
    cfg.custom_hooks = [dict(type='MathSDPAHook')]
    runner = build_runner(cfg)
    model = runner.model
    heads_before = {k: v.detach().clone() for k, v in model.heads.state_dict().items()}
    runner.train()
    logged = runner.message_hub.log_scalars
    for key in ('regularizer.loss_tsr', 'regularizer.loss_csa', 'regularizer.tsr'):
        assert f'train/{key}' in logged, sorted(logged)
        assert math.isfinite(logged[f'train/{key}'].current())
    changed = [
        k for k, v in model.heads.state_dict().items() if not torch.equal(v, heads_before[k])
    ]
    assert changed


def _half_graph(shared_dtype):
    """Z in ``shared_dtype`` and two task losses whose gradients are ~1e-9 per element: the
    float32 loss is a mean over many pixels of a half-precision head's output."""
    gen = torch.Generator().manual_seed(0)
    z32 = torch.randn(2, 4, 8, 8, generator=gen)
    weights = [torch.randn(4, 1, 1, generator=gen) for _ in range(2)]
    z = z32.to(shared_dtype).requires_grad_()
    losses = {
        f't{i}': (z * w.to(shared_dtype)).float().sum() * 1e-9 * (i + 1)
        for i, w in enumerate(weights)
    }
    return z, losses


def test_fp16_saliencies_do_not_underflow():
    """Under fp16 the raw gradients (1e-9) flush to zero: TSR would be 0 with no gradient and no
    error. The saliencies are taken of scaled losses and come back in float32, equal to the
    float32 graph's."""
    from mmkem.models.regularizers import RepMTLRegularizer, task_saliency

    z16, losses16 = _half_graph(torch.float16)
    (raw,) = torch.autograd.grad(losses16['t0'], z16, retain_graph=True)
    assert not raw.any()  # what the unscaled gradient gives in float16
    sal16 = task_saliency(losses16, z16, create_graph=False)
    z32, losses32 = _half_graph(torch.float32)
    sal32 = task_saliency(losses32, z32, create_graph=False)
    assert sal16.dtype == torch.float32
    torch.testing.assert_close(sal16, sal32, rtol=1e-2, atol=0)  # float16: 3 digits
    reg = RepMTLRegularizer()
    out16, out32 = reg(losses16, z16), reg(losses32, z32)
    assert out16['tsr'] > 0.1
    torch.testing.assert_close(out16['tsr'], out32['tsr'], rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(out16['csa'], out32['csa'], rtol=1e-3, atol=1e-4)


def test_scaled_saliency_that_overflows_is_taken_again_unscaled():
    from mmkem.models.regularizers import task_saliency

    z = torch.ones(1, 2, 2, 2, dtype=torch.float16, requires_grad=True)
    big = (z.float() * 1.0).sum()  # dL/dZ = 1: times 2**16 overflows float16's 65504
    small = (z.float() * 1e-9).sum()
    sal = task_saliency(dict(big=big, small=small), z, create_graph=False)
    torch.testing.assert_close(sal[0], torch.ones(1, 2, 2, 2))
    torch.testing.assert_close(sal[1], torch.full((1, 2, 2, 2), 1e-9), rtol=1e-3, atol=0)


@pytest.mark.cuda
def test_saliencies_under_cuda_fp16_autocast():
    from mmkem.models.regularizers import RepMTLRegularizer

    torch.manual_seed(0)
    adapter = torch.nn.Conv2d(3, 8, 1).cuda()
    heads = [torch.nn.Conv2d(8, 1, 3, padding=1).cuda() for _ in range(2)]
    x = torch.randn(2, 3, 64, 64, device='cuda')

    def losses():
        z = adapter(x)
        return z, {f't{i}': h(z).float().mean() * 1e-3 for i, h in enumerate(heads)}

    with torch.autocast('cuda', dtype=torch.float16):
        z16, l16 = losses()
        out16 = RepMTLRegularizer()(l16, z16)
    z32, l32 = losses()
    out32 = RepMTLRegularizer()(l32, z32)
    assert z16.dtype == torch.float16 and out16['tsr'] > 0
    torch.testing.assert_close(out16['tsr'], out32['tsr'], rtol=2e-2, atol=2e-2)
    (out16['loss_tsr'] + out16['loss_csa']).backward()
    assert all(torch.isfinite(p.grad).all() for p in adapter.parameters())
