"""What the KEM neck adds to an mmseg model: params, FLOPs and training-step time, side by side.

Builds the config's model twice, as configured (with ``KEMMultiLevelNeck``) and with ``neck=None``
(the mmseg model it was inherited from), random weights, and prints one table:

- params: exact counts (mmengine's ``parameter_count``).
- FLOPs (multiply-adds) of a forward pass at ``--size``: mmengine's ``FlopAnalyzer`` (jit trace),
  and PyTorch's dispatch-level ``FlopCounterMode`` (halved to multiply-adds). The jit tracer does
  not see inside custom autograd Functions, which the fast form of ``KEMCore`` uses for its folded
  LayerNorm-matmuls, so for the neck it undercounts; the dispatch-level count sees every matmul.
- time per training step (``model.train_step``: preprocessing, forward, loss, backward, optimizer
  step with the config's optimizer), the two models interleaved, best of ``--iters`` steps after one
  warm-up step each (on a shared machine the minimum is the stable estimate); and the neck's own
  forward+backward on the backbone's feature maps (best of ``5 * --iters`` runs).

Example (CPU, a few minutes)::

    python tools/analysis/neck_cost.py \
        configs/mmseg_kem/upernet_r50_kem_4xb4-80k_ade20k-512x512.py --size 256 --batch 2 --iters 3
"""

import argparse
import copy
import time

import torch
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch.utils.flop_counter import FlopCounterMode

import mmkem  # noqa: F401  (registers the neck even without custom_imports)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='an mmseg config whose model has a neck')
    parser.add_argument('--size', type=int, default=256, help='square input size (pixels)')
    parser.add_argument('--batch', type=int, default=2, help='batch size of the training step')
    parser.add_argument('--iters', type=int, default=3, help='timed training steps per model')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    return parser.parse_args()


def build_models(config: str, size: int):
    """The config's model and the same model with ``neck=None``; random weights, no downloads."""
    cfg = Config.fromfile(config)
    if not cfg.model.get('neck'):
        raise ValueError(f'{config!r} has no model.neck to measure')
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    cfg.model.pretrained = None
    cfg.model.backbone.init_cfg = None
    cfg.model.backbone.pretrained = None
    cfg.model.data_preprocessor.size = (size, size)
    models = {}
    for name in ('without neck', 'with neck'):
        model_cfg = copy.deepcopy(cfg.model)
        if name == 'without neck':
            model_cfg.neck = None
        torch.manual_seed(0)
        models[name] = revert_sync_batchnorm(MODELS.build(model_cfg))
    return cfg, models


def count_flops(model, size: int, device: str):
    """Forward multiply-adds at ``size``: (mmengine FlopAnalyzer, torch FlopCounterMode / 2)."""
    model.eval()
    x = torch.randn(1, 3, size, size, device=device)
    with torch.no_grad():
        analyzer = FlopAnalyzer(model, (x,))
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        mm_flops = analyzer.total()
        with FlopCounterMode(display=False) as counter:
            model(x)
    return mm_flops, counter.get_total_flops() / 2


def fake_batch(num_classes: int, batch: int, size: int):
    gen = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(torch.randint(0, 256, (3, size, size), generator=gen, dtype=torch.uint8))
        label = torch.randint(0, num_classes, (1, size, size), generator=gen)
        sample = SegDataSample(gt_sem_seg=PixelData(data=label))
        sample.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def time_steps(models, cfg, batch: int, size: int, iters: int, device: str):
    """Best seconds per ``train_step`` for each model, steps interleaved between the models."""
    wrappers = {
        name: build_optim_wrapper(m, copy.deepcopy(cfg.optim_wrapper)) for name, m in models.items()
    }
    data = fake_batch(cfg.model.decode_head.num_classes, batch, size)
    times = {name: [] for name in models}
    for step in range(iters + 1):  # step 0 warms up
        for name, model in models.items():
            model.train()
            if device == 'cuda':
                torch.cuda.synchronize()
            start = time.perf_counter()
            model.train_step(copy.deepcopy(data), wrappers[name])
            if device == 'cuda':
                torch.cuda.synchronize()
            if step:
                times[name].append(time.perf_counter() - start)
    return {name: min(t) for name, t in times.items()}


def time_neck(model, batch: int, size: int, iters: int, device: str) -> float:
    """Best seconds of the neck's forward+backward on the backbone's maps of a batch."""
    model.train()
    with torch.no_grad():
        feats = model.backbone(torch.randn(batch, 3, size, size, device=device))
    feats = [f.detach().requires_grad_() for f in feats]
    times = []
    for step in range(iters + 1):
        if device == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        sum(out.square().mean() for out in model.neck(feats)).backward()
        if device == 'cuda':
            torch.cuda.synchronize()
        if step:
            times.append(time.perf_counter() - start)
    return min(times)


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg, models = build_models(args.config, args.size)
    for model in models.values():
        model.to(args.device)
    rows = {}
    for name, model in models.items():
        mm_flops, torch_flops = count_flops(model, args.size, args.device)
        params = parameter_count(model)['']
        rows[name] = dict(params=params, mm_flops=mm_flops, torch_flops=torch_flops)
    step = time_steps(models, cfg, args.batch, args.size, args.iters, args.device)
    for name in rows:
        rows[name]['step'] = step[name]
    rows['without neck']['neck'] = 0.0
    rows['with neck']['neck'] = time_neck(
        models['with neck'], args.batch, args.size, 5 * args.iters, args.device
    )

    neck = cfg.model.neck
    print(f'config: {args.config}')
    mixer, dims = neck.get('mixer', 'kem'), neck.get('embed_dims', 256)
    print(f'neck: {neck.type} (mixer={mixer}, embed_dims={dims})')
    print(
        f'input {args.size}x{args.size}; FLOPs for batch 1, train step for batch {args.batch}, '
        f'device {args.device}, {torch.get_num_threads()} threads, best of {args.iters} steps'
    )
    base, kem = rows['without neck'], rows['with neck']
    header = f'{"":34s}{"without neck":>14s}{"with neck":>14s}{"added":>12s}{"added %":>9s}'
    print(header)
    print('-' * len(header))
    for label, key, scale, fmt in (
        ('params (M)', 'params', 1e6, '.3f'),
        ('FLOPs, mmengine FlopAnalyzer (G)', 'mm_flops', 1e9, '.2f'),
        ('FLOPs, torch FlopCounterMode (G)', 'torch_flops', 1e9, '.2f'),
        ('train step (s)', 'step', 1, '.3f'),
        ('neck forward+backward alone (s)', 'neck', 1, '.3f'),
    ):
        a, b = base[key] / scale, kem[key] / scale
        share = b - a if key != 'neck' else b
        pct = 100 * share / (base[key] / scale if key != 'neck' else base['step'])
        print(f'{label:34s}{a:>14{fmt}}{b:>14{fmt}}{share:>12{fmt}}{pct:>8.1f}%')
    print('added %: of the model without neck (neck alone: of its training step)')


if __name__ == '__main__':
    main()
