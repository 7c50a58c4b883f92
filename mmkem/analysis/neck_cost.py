"""What a neck adds to an mmseg model: params, FLOPs and training-step time, side by side.

Builds a config's model twice, as configured (with its neck, e.g. ``KEMMultiLevelNeck``) and with
``neck=None`` (the mmseg model it was inherited from), random weights, and measures both:

- params: exact counts (mmengine's ``parameter_count``).
- FLOPs (multiply-adds) of a forward pass: mmengine's ``FlopAnalyzer`` (jit trace), and PyTorch's
  dispatch-level ``FlopCounterMode`` (halved to multiply-adds). The jit tracer does not see inside
  custom autograd Functions, which the fast form of ``KEMCore`` uses for its folded
  LayerNorm-matmuls, so for the neck it undercounts; the dispatch-level count sees every matmul.
- time per training step (``model.train_step``: preprocessing, forward, loss, backward, optimizer
  step with the config's optimizer), the two models interleaved, best of ``iters`` steps after one
  warm-up step each; and the neck's own forward+backward on the backbone's feature maps.

The command line is ``tools/analysis/neck_cost.py`` (docs/mmseg_neck.md).
"""

import copy
from typing import Dict, List, Tuple

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

from .timing import time_forward_backward, time_interleaved

__all__ = [
    'build_models',
    'count_flops',
    'fake_batch',
    'format_report',
    'measure_neck_cost',
    'time_neck',
    'time_steps',
]


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
    """A fixed single-task segmentation batch: random images and labels, ``SegDataSample``s."""
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
    for model in models.values():
        model.train()
    steps = {
        # Each step gets its own copy of the batch (the copy is inside the timed call).
        name: lambda model=model, wrapper=wrappers[name]: model.train_step(
            copy.deepcopy(data), wrapper
        )
        for name, model in models.items()
    }
    times = time_interleaved(steps, iters, warmup=1, device=device)
    return {name: t.best for name, t in times.items()}


def time_neck(model, batch: int, size: int, iters: int, device: str) -> float:
    """Best seconds of the neck's forward+backward on the backbone's maps of a batch."""
    model.train()
    with torch.no_grad():
        feats = model.backbone(torch.randn(batch, 3, size, size, device=device))
    feats = [f.detach().requires_grad_() for f in feats]
    return time_forward_backward(model.neck, feats, iters, device)


def measure_neck_cost(
    config: str, size: int = 256, batch: int = 2, iters: int = 3, device: str = 'cpu'
) -> Tuple[Config, Dict[str, dict]]:
    """Params, FLOPs, step time and the neck's own time of the model without and with its neck.

    Args:
        config (str): An mmseg config whose model has a neck.
        size (int): Square input size (pixels). Defaults to 256.
        batch (int): Batch size of the training step. Defaults to 2.
        iters (int): Timed training steps per model (the neck alone: ``5 * iters`` runs).
            Defaults to 3.
        device (str): Defaults to ``'cpu'``.

    Returns:
        tuple: The config and, for ``'without neck'`` and ``'with neck'``: ``params``,
        ``mm_flops``, ``torch_flops``, ``step`` and ``neck`` (seconds; 0 without a neck).
    """
    cfg, models = build_models(config, size)
    for model in models.values():
        model.to(device)
    rows = {}
    for name, model in models.items():
        mm_flops, torch_flops = count_flops(model, size, device)
        params = parameter_count(model)['']
        rows[name] = dict(params=params, mm_flops=mm_flops, torch_flops=torch_flops)
    step = time_steps(models, cfg, batch, size, iters, device)
    for name in rows:
        rows[name]['step'] = step[name]
    rows['without neck']['neck'] = 0.0
    rows['with neck']['neck'] = time_neck(models['with neck'], batch, size, 5 * iters, device)
    return cfg, rows


def format_report(
    cfg: Config, rows: Dict[str, dict], config: str, size: int, batch: int, iters: int, device: str
) -> List[str]:
    """The printed report of :func:`measure_neck_cost`: the settings, then one line per quantity."""
    neck = cfg.model.neck
    lines = [f'config: {config}']
    mixer, dims = neck.get('mixer', 'kem'), neck.get('embed_dims', 256)
    lines.append(f'neck: {neck.type} (mixer={mixer}, embed_dims={dims})')
    lines.append(
        f'input {size}x{size}; FLOPs for batch 1, train step for batch {batch}, '
        f'device {device}, {torch.get_num_threads()} threads, best of {iters} steps'
    )
    base, kem = rows['without neck'], rows['with neck']
    header = f'{"":34s}{"without neck":>14s}{"with neck":>14s}{"added":>12s}{"added %":>9s}'
    lines += [header, '-' * len(header)]
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
        lines.append(f'{label:34s}{a:>14{fmt}}{b:>14{fmt}}{share:>12{fmt}}{pct:>8.1f}%')
    lines.append('added %: of the model without neck (neck alone: of its training step)')
    return lines
