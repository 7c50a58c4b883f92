"""Training speed and peak memory of whole multi-task models: KEM, sKEM and cross-attention.

The paper's Table 6 (steps per second and GPU memory of the three models), measured in one run.
Each config's model is built with random weights: the backbone's ``init_cfg`` (the pretrained
Swin checkpoint) and ``pretrained`` are dropped, since the checkpoint cannot be downloaded here;
speed and memory do not depend on the values of the weights. Every model runs in its own
subprocess, one after the other, so that one model's memory cannot hide in another's.

Per model:

- params: total, trainable (the frozen backbone is not), and the neck's own count with its share
  of the total and of the trainable params.
- training speed: ``model.train_step`` on one fixed synthetic batch (every task's ground truth,
  packed as the data pipeline packs it: preprocessing, forward, losses, backward and the
  optimizer step of the config's ``optim_wrapper``); ``--warmup`` untimed steps, then ``--steps``
  timed steps; steps per second of the best and of the median step (wall clock), and per second
  of the process's CPU time (``time.process_time``, all its threads), which other jobs on a shared
  machine disturb much less than the wall clock.
- peak memory. CPU: the process's peak resident set size (``VmHWM``) during the warm-up and
  timed steps, minus the resident size just after the imports (``peak over imports``: model,
  optimizer state, activations and the allocator's retained memory, the counterpart of what a GPU
  reports) and minus the resident size with the model, optimizer and batch built, before the
  first step (``peak over built``: what the training steps add). The peak is reset after the
  build (``/proc/self/clear_refs``), so it covers the steps only. CUDA, in addition:
  ``torch.cuda.max_memory_allocated`` over the steps (everything allocated at the peak, the
  parameters included), the quantity the paper's "GPU memory" most likely is.
- the neck alone: forward+backward of the neck on the task encoders' maps of the same batch
  (best of ``--neck-repeats`` after one warm-up), and its share of the best training step, to
  show how much of the whole model the compared module is.

Prints a table with ratios to KEM next to the paper's, writes ``results.json`` and
``results.md`` to ``--out``.

Example (the paper's resolution; a few minutes on a 2-core CPU)::

    python tools/analysis/model_cost.py --size 448 576 --batch-size 2 --steps 3
"""

import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone

DEFAULT_CONFIGS = [
    'configs/kem/kem_swin-t_40k_nyud-448x576.py',
    'configs/skem/skem_swin-t_40k_nyud-448x576.py',
    'configs/baselines/ca_swin-t_40k_nyud-448x576.py',
]
# Table 6 of the paper (one GPU, batch size and resolution not stated beyond the NYUD setting)
PAPER = dict(
    KEM=dict(steps_per_s=10.22, memory_mb=265),
    SKEM=dict(steps_per_s=7.53, memory_mb=285),
    TaskCrossAttention=dict(steps_per_s=3.68, memory_mb=314),
)
RESULT_PREFIX = 'MODEL_COST_RESULT '
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--configs', nargs='+', default=DEFAULT_CONFIGS,
        help='model configs; the first is the reference of the ratios (default: KEM, sKEM, CA)',
    )  # fmt: skip
    parser.add_argument(
        '--size', type=int, nargs=2, default=(448, 576), metavar=('H', 'W'),
        help='input size (default 448 576, the paper\'s NYUD-v2 crop)',
    )  # fmt: skip
    parser.add_argument('--batch-size', type=int, default=2, help='images per step (default 2)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed steps (default 1)')
    parser.add_argument('--steps', type=int, default=3, help='timed steps (default 3)')
    parser.add_argument('--threads', type=int, default=1, help='torch CPU threads (default 1)')
    parser.add_argument(
        '--neck-repeats', type=int, default=5,
        help="timed runs of the neck's own forward+backward, best kept (default 5)",
    )  # fmt: skip
    parser.add_argument('--device', default=None, help="'cpu' or 'cuda' (default: cuda if any)")
    parser.add_argument('--out', default='work_dirs/model_cost')
    parser.add_argument('--worker', default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ('batch_size', 'steps', 'threads', 'neck_repeats'):
        if getattr(args, name) < 1:
            raise ValueError(f'--{name.replace("_", "-")} must be >= 1, got {getattr(args, name)}')
    if args.warmup < 0:
        raise ValueError(f'--warmup must be >= 0, got {args.warmup}')
    if min(args.size) < 32:
        raise ValueError(f'--size must be at least 32 x 32 (Swin stride), got {args.size}')
    return args


# ---------------------------------------------------------------------- memory of this process
def _proc_status_kb(key):
    """A ``kB`` field of /proc/self/status (``VmRSS``, ``VmHWM``), or None off Linux."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss():
    """Reset ``VmHWM`` to the current resident size (Linux >= 4.0); False if not possible."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------- one model (subprocess)
def time_neck(model, data, repeats, device):
    """Best seconds of the neck's forward+backward on the task encoders' maps of ``data``."""
    import torch

    with torch.no_grad():
        inputs = model.data_preprocessor(data, True)['inputs']
        shared = model.extract_feat(inputs)
        feats = [model.task_encoders[task](shared) for task in model.tasks]
    feats = [feat.detach().requires_grad_() for feat in feats]
    times = []
    for step in range(repeats + 1):  # step 0 warms up
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        start = time.perf_counter()
        sum(out.square().mean() for out in model.neck(feats)).backward()
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        if step:
            times.append(time.perf_counter() - start)
    model.zero_grad(set_to_none=True)
    return min(times)


def measure_model(config, args):
    """Build ``config``'s model with random weights and measure it in this process."""
    import torch
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmkem  # noqa: F401
    from mmkem.apis.benchmarking import synthetic_batch

    torch.set_num_threads(args.threads)
    device = args.device
    rss_imports = _proc_status_kb('VmRSS')
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    cfg.model.pop('pretrained', None)
    cfg.model.backbone.pop('init_cfg', None)
    cfg.model.backbone.pop('pretrained', None)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(device)
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = synthetic_batch(model, args.batch_size, args.size)

    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    neck = sum(p.numel() for p in model.neck.parameters()) if model.neck is not None else 0

    rss_built = _proc_status_kb('VmRSS')
    peak_reset = _reset_peak_rss()
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times, cpu_times = [], []
    for step in range(args.warmup + args.steps):
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        start, cpu_start = time.perf_counter(), time.process_time()
        model.train_step(data, optim_wrapper)
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        if step >= args.warmup:
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    rss_peak = _proc_status_kb('VmHWM')
    neck_s = time_neck(model, data, args.neck_repeats, device) if model.neck is not None else None

    mib = 1024.0
    result = dict(
        config=config,
        neck=cfg.model.neck.type if cfg.model.get('neck') else None,
        params=params,
        trainable_params=trainable,
        neck_params=neck,
        neck_share_of_params=neck / params,
        neck_share_of_trainable=neck / trainable if trainable else float('nan'),
        step_s=times,
        best_step_s=min(times),
        median_step_s=statistics.median(times),
        steps_per_s_best=1.0 / min(times),
        steps_per_s_median=1.0 / statistics.median(times),
        cpu_step_s=cpu_times,
        steps_per_cpu_s_median=1.0 / statistics.median(cpu_times),
        rss_imports_mb=rss_imports / mib if rss_imports else None,
        rss_built_mb=rss_built / mib if rss_built else None,
        peak_rss_mb=rss_peak / mib if rss_peak else None,
        peak_rss_reset_after_build=peak_reset,
        peak_over_imports_mb=(rss_peak - rss_imports) / mib if rss_peak else None,
        peak_over_built_mb=(rss_peak - rss_built) / mib if rss_peak else None,
        neck_fwd_bwd_s=neck_s,
        neck_share_of_step=neck_s / min(times) if neck_s is not None else None,
    )
    if device.startswith('cuda'):
        result['cuda_max_allocated_mb'] = torch.cuda.max_memory_allocated() / 2**20
        result['cuda_max_reserved_mb'] = torch.cuda.max_memory_reserved() / 2**20
    return result


def resolve_config(config):
    """``config`` as given if it exists, else relative to the repository root."""
    if osp.exists(config):
        return osp.abspath(config)
    in_repo = osp.join(REPO, config)
    if osp.exists(in_repo):
        return in_repo
    raise ValueError(f'config {config!r} not found (nor under {REPO})')


def run_worker(config, args):
    """Run :func:`measure_model` for ``config`` in a fresh interpreter; return its result dict."""
    cmd = [
        sys.executable, osp.abspath(__file__), '--worker', resolve_config(config),
        '--size', str(args.size[0]), str(args.size[1]),
        '--batch-size', str(args.batch_size), '--warmup', str(args.warmup),
        '--steps', str(args.steps), '--threads', str(args.threads), '--device', args.device,
        '--neck-repeats', str(args.neck_repeats),
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    raise RuntimeError(
        f'measuring {config} failed (exit code {proc.returncode}):\n{proc.stderr[-3000:]}'
    )


# ---------------------------------------------------------------------- report
def format_table(results, markdown=False):
    ref = results[0]
    cols = (
        'model', 'params M', 'trainable M', 'neck M (% trainable)', 'steps/s best',
        'steps/s median', 'speed / ref', 'steps/CPU-s median', 'CPU speed / ref',
        'paper speed / ref', 'peak over imports MB',
        'peak over built MB', 'memory / ref', 'paper memory / ref', 'neck fwd+bwd s (% step)',
    )  # fmt: skip
    if 'cuda_max_allocated_mb' in ref:
        cols += ('CUDA max allocated MB',)
    rows = []
    paper_ref = PAPER.get(ref['neck'])
    for r in results:
        paper = PAPER.get(r['neck'])
        paper_speed = paper_mem = '-'
        if paper and paper_ref:
            paper_speed = f'{paper["steps_per_s"] / paper_ref["steps_per_s"]:.2f}'
            paper_mem = f'{paper["memory_mb"] / paper_ref["memory_mb"]:.2f}'
        mem_key = (
            'cuda_max_allocated_mb' if 'cuda_max_allocated_mb' in r else 'peak_over_imports_mb'
        )
        row = [
            r['neck'] or 'none',
            f'{r["params"] / 1e6:.2f}',
            f'{r["trainable_params"] / 1e6:.2f}',
            f'{r["neck_params"] / 1e6:.3f} ({100 * r["neck_share_of_trainable"]:.1f}%)',
            f'{r["steps_per_s_best"]:.3f}',
            f'{r["steps_per_s_median"]:.3f}',
            f'{r["steps_per_s_median"] / ref["steps_per_s_median"]:.2f}',
            f'{r["steps_per_cpu_s_median"]:.3f}',
            f'{r["steps_per_cpu_s_median"] / ref["steps_per_cpu_s_median"]:.2f}',
            paper_speed,
            f'{r["peak_over_imports_mb"]:.0f}',
            f'{r["peak_over_built_mb"]:.0f}',
            f'{r[mem_key] / ref[mem_key]:.2f}',
            paper_mem,
            f'{r["neck_fwd_bwd_s"]:.3f} ({100 * r["neck_share_of_step"]:.1f}%)'
            if r['neck_fwd_bwd_s'] is not None
            else '-',
        ]
        if 'cuda_max_allocated_mb' in r:
            row.append(f'{r["cuda_max_allocated_mb"]:.0f}')
        rows.append(row)
    if markdown:
        lines = ['| ' + ' | '.join(cols) + ' |', '|' + '---|' * len(cols)]
        lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
        return '\n'.join(lines)
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    lines = ['  '.join(c.rjust(w) for c, w in zip(cols, widths))]
    lines.append('-' * len(lines[0]))
    lines += ['  '.join(v.rjust(w) for v, w in zip(row, widths)) for row in rows]
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    if args.device is None:
        import torch

        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if args.worker:
        result = measure_model(args.worker, args)
        print(RESULT_PREFIX + json.dumps(result), flush=True)
        return result

    start = time.perf_counter()
    results = []
    for config in args.configs:
        print(f'measuring {config} ...', flush=True)
        results.append(run_worker(config, args))
    import torch

    from mmkem.apis.benchmarking import cpu_name

    device = (
        torch.cuda.get_device_name(args.device)
        if args.device.startswith('cuda')
        else f'{cpu_name()} ({os.cpu_count()} cores), {args.threads} torch threads'
    )
    meta = dict(
        date=datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        device=device,
        torch=torch.__version__,
        size=list(args.size),
        batch_size=args.batch_size,
        warmup=args.warmup,
        steps=args.steps,
        weights='random (backbone init_cfg/pretrained dropped)',
        memory='peak RSS (VmHWM, reset after the build) minus RSS after imports / after the build'
        + ('; CUDA max_memory_allocated over the steps' if args.device.startswith('cuda') else ''),
        wall_s=round(time.perf_counter() - start, 1),
        command=' '.join(['python', 'tools/analysis/model_cost.py'] + (argv or sys.argv[1:])),
    )
    ref = results[0]
    ratios = {
        r['neck']: dict(
            speed_median=r['steps_per_s_median'] / ref['steps_per_s_median'],
            speed_best=r['steps_per_s_best'] / ref['steps_per_s_best'],
            speed_cpu_median=r['steps_per_cpu_s_median'] / ref['steps_per_cpu_s_median'],
            peak_over_imports=r['peak_over_imports_mb'] / ref['peak_over_imports_mb'],
            peak_over_built=r['peak_over_built_mb'] / ref['peak_over_built_mb'],
        )
        for r in results
    }
    print(
        f'\n{args.size[0]}x{args.size[1]}, batch {args.batch_size}, {args.device} ({device}), '
        f'best/median of {args.steps} steps after {args.warmup} warm-up, random weights'
    )
    print(format_table(results))
    print('ratios: this model / the first one (speed: median steps/s; memory: peak over imports)')
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'results.json'), 'w') as f:
        json.dump(dict(meta=meta, models=results, ratios_to_first=ratios, paper=PAPER), f, indent=1)
    with open(osp.join(args.out, 'results.md'), 'w') as f:
        f.write(f'# Model cost ({meta["date"]}, {device})\n\n')
        f.write(
            f'{args.size[0]}x{args.size[1]}, batch {args.batch_size}, best/median of '
            f'{args.steps} steps after {args.warmup} warm-up, random weights.\n\n'
        )
        f.write(format_table(results, markdown=True) + '\n')
    print(f'wrote results.json and results.md to {args.out}')
    return dict(meta=meta, models=results, ratios_to_first=ratios)


if __name__ == '__main__':
    main()
