"""Training-time overhead of Rep-MTL over plain loss weighting, on the same model.

One model is built from a config that has a ``regularizer``. Training steps (forward, losses,
backward, optimiser step: ``model.train_step``) are timed on one fixed synthetic batch
(:func:`~mmkem.analysis.batches.synthetic_batch`) in two modes that share every weight and buffer:

- ``weighting``: ``model.regularizer = None`` (the configured loss weighting only);
- ``rep_mtl``: the configured regulariser (second-order TSR + CSA on dL_t/dZ).

The modes alternate in rounds (``rounds`` x ``steps`` each, after ``warmup`` steps of each) so
that drifts of a shared machine hit both alike; the median and the minimum step time per mode and
the overheads ``rep_mtl / weighting - 1`` of both are reported. The command line is
``tools/analysis/rep_mtl_overhead.py`` (docs/rep_mtl.md).
"""

import statistics
from datetime import datetime, timezone
from typing import List, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from torch.nn.attention import SDPBackend, sdpa_kernel

import mmkem  # noqa: F401
import mmkem.models.regularizers  # noqa: F401
from mmkem.engine import fill_task_config

from .batches import synthetic_batch
from .machine import device_name
from .timing import time_call

__all__ = ['format_overhead', 'measure_rep_mtl_overhead']


def measure_rep_mtl_overhead(
    config: str,
    batch_size: int = 2,
    size: Sequence[int] = (96, 128),
    device: str = 'cpu',
    warmup: int = 2,
    steps: int = 3,
    rounds: int = 3,
    cfg_options: Optional[dict] = None,
) -> dict:
    """Time the training steps of ``config``'s model with and without its regulariser.

    Args:
        config (str): A config whose model has a ``regularizer``.
        batch_size (int): Images per step. Defaults to 2.
        size (Sequence[int]): Input ``(H, W)``. Defaults to (96, 128).
        device (str): ``'cpu'`` or ``'cuda'``. Defaults to ``'cpu'``.
        warmup (int): Untimed steps per mode. Defaults to 2.
        steps (int): Timed steps per round and mode. Defaults to 3.
        rounds (int): Alternating rounds. Defaults to 3.
        cfg_options (dict, optional): Config overrides (``--cfg-options``). Defaults to None.

    Returns:
        dict: The config, date, device, sizes, ``median_step_s`` / ``min_step_s`` /
        ``all_step_s`` per mode and ``overhead_percent_median`` / ``overhead_percent_min``.

    Raises:
        ValueError: The model has no regularizer.
    """
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    fill_task_config(cfg)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(device)
    model.train()
    regularizer = model.regularizer
    if regularizer is None:
        raise ValueError(f'{config}: the model has no regularizer to measure')
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = synthetic_batch(model, batch_size, size)
    modes = dict(weighting=None, rep_mtl=regularizer)
    samples = {mode: [] for mode in modes}

    def step():
        model.train_step(data, optim_wrapper)

    # The math attention kernel in both modes (Rep-MTL needs it, see MathSDPAHook), so that the
    # difference is the regulariser only.
    with sdpa_kernel([SDPBackend.MATH]):
        for reg in modes.values():
            model.regularizer = reg
            time_call(step, 0, warmup=warmup, device=device)
        for _ in range(rounds):
            for mode, reg in modes.items():
                model.regularizer = reg
                samples[mode] += time_call(step, steps, device=device).wall
    model.regularizer = regularizer

    median = {mode: statistics.median(values) for mode, values in samples.items()}
    best = {mode: min(values) for mode, values in samples.items()}
    overhead = median['rep_mtl'] / median['weighting'] - 1
    overhead_min = best['rep_mtl'] / best['weighting'] - 1
    return dict(
        config=config,
        date=datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        device=device_name(device, torch.get_num_threads()),
        torch=torch.__version__,
        batch_size=batch_size,
        size=list(size),
        steps_per_mode=len(samples['rep_mtl']),
        cfg_options=cfg_options,
        median_step_s=median,
        min_step_s=best,
        all_step_s=samples,
        overhead_percent_median=100 * overhead,
        overhead_percent_min=100 * overhead_min,
    )


def format_overhead(result: dict) -> List[str]:
    """The printed report of :func:`measure_rep_mtl_overhead`."""
    median, best = result['median_step_s'], result['min_step_s']
    size = result['size']
    lines = [
        f'{result["config"]} | batch {result["batch_size"]} | {size[0]}x{size[1]} | '
        f'{result["device"]}'
    ]
    for mode in median:
        lines.append(
            f'  {mode:10s} median step {1000 * median[mode]:9.1f} ms   '
            f'min {1000 * best[mode]:9.1f} ms'
        )
    lines.append(
        f'  Rep-MTL overhead: {result["overhead_percent_median"]:+.1f}% (medians), '
        f'{result["overhead_percent_min"]:+.1f}% (minima)'
    )
    return lines
