"""Training-time overhead of Rep-MTL over plain loss weighting, on the same model, in one run.

One model is built from ``--config`` (it must have a ``regularizer``). Training steps (forward,
losses, backward, optimiser step: ``model.train_step``) are timed on one fixed synthetic batch in
two modes that share every weight and buffer:

- ``weighting``: ``model.regularizer = None`` (the configured loss weighting only);
- ``rep_mtl``: the configured regulariser (second-order TSR + CSA on dL_t/dZ).

The modes alternate in rounds (``--rounds`` x ``--steps`` each, after ``--warmup`` steps of each)
so that drifts of a shared machine hit both alike; the median and the minimum step time per mode
(on a loaded machine the minimum is the stable estimate) and the overheads
``rep_mtl / weighting - 1`` of both are printed and written to ``--out`` as JSON with the machine
and the date. The paper reports 15-20% over loss-scaling methods (its setting: HPS DeepLabV3+
ResNet-50, NYUv2 288x384, batch 8, one GPU).

Example (the paper's setting; on a GPU)::

    python tools/analysis/rep_mtl_overhead.py \
        configs/rep_mtl/hps-rep-mtl_r50-d8_20k_nyuv2-libmtl-288x384.py \
        --batch-size 8 --size 288 384 --device cuda --out work_dirs/rep_mtl_overhead.json
"""

import argparse
import json
import os
import os.path as osp
import statistics
import time
from datetime import datetime, timezone

import torch
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from torch.nn.attention import SDPBackend, sdpa_kernel

import mmkem  # noqa: F401
import mmkem.models.regularizers  # noqa: F401
from mmkem.apis.benchmarking import cpu_name, synthetic_batch


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a config whose model has a regularizer')
    parser.add_argument('--batch-size', type=int, default=2, help='images per step (default 2)')
    parser.add_argument(
        '--size', type=int, nargs=2, default=(96, 128), metavar=('H', 'W'),
        help='input size (default 96 128)',
    )  # fmt: skip
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda' (default cpu)")
    parser.add_argument('--warmup', type=int, default=2, help='untimed steps per mode (default 2)')
    parser.add_argument('--steps', type=int, default=3, help='timed steps per round (default 3)')
    parser.add_argument('--rounds', type=int, default=3, help='alternating rounds (default 3)')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--out', default=None, help='write the results as JSON here')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default=None,
        help='override config keys, e.g. model.backbone.depth=18',
    )  # fmt: skip
    return parser.parse_args()


def time_steps(model, optim_wrapper, data, steps, device):
    times = []
    for _ in range(steps):
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        start = time.perf_counter()
        model.train_step(data, optim_wrapper)
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return times


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(args.device)
    model.train()
    regularizer = model.regularizer
    if regularizer is None:
        raise ValueError(f'{args.config}: the model has no regularizer to measure')
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = synthetic_batch(model, args.batch_size, args.size)
    modes = dict(weighting=None, rep_mtl=regularizer)
    samples = {mode: [] for mode in modes}
    # The math attention kernel in both modes (Rep-MTL needs it, see MathSDPAHook), so that the
    # difference is the regulariser only.
    with sdpa_kernel([SDPBackend.MATH]):
        for reg in modes.values():
            model.regularizer = reg
            time_steps(model, optim_wrapper, data, args.warmup, args.device)
        for _ in range(args.rounds):
            for mode, reg in modes.items():
                model.regularizer = reg
                samples[mode] += time_steps(model, optim_wrapper, data, args.steps, args.device)
    model.regularizer = regularizer

    median = {mode: statistics.median(values) for mode, values in samples.items()}
    best = {mode: min(values) for mode, values in samples.items()}
    overhead = median['rep_mtl'] / median['weighting'] - 1
    overhead_min = best['rep_mtl'] / best['weighting'] - 1
    device_name = (
        torch.cuda.get_device_name(args.device)
        if args.device.startswith('cuda')
        else f'{cpu_name()} ({os.cpu_count()} cores), {torch.get_num_threads()} torch threads'
    )
    result = dict(
        config=args.config,
        date=datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        device=device_name,
        torch=torch.__version__,
        batch_size=args.batch_size,
        size=list(args.size),
        steps_per_mode=len(samples['rep_mtl']),
        cfg_options=args.cfg_options,
        median_step_s=median,
        min_step_s=best,
        all_step_s=samples,
        overhead_percent_median=100 * overhead,
        overhead_percent_min=100 * overhead_min,
    )
    print(
        f'{args.config} | batch {args.batch_size} | {args.size[0]}x{args.size[1]} | {device_name}'
    )
    for mode in modes:
        print(
            f'  {mode:10s} median step {1000 * median[mode]:9.1f} ms   '
            f'min {1000 * best[mode]:9.1f} ms'
        )
    print(
        f'  Rep-MTL overhead: {100 * overhead:+.1f}% (medians), {100 * overhead_min:+.1f}% (minima)'
    )
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)


if __name__ == '__main__':
    main()
