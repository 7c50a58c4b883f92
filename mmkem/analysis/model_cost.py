"""Training speed and peak memory of whole multi-task models (the paper's Table 6).

Each config's model is built with random weights: the backbone's ``init_cfg`` (the pretrained
checkpoint) and ``pretrained`` are dropped; speed and memory do not depend on the values of the
weights. Every model is measured in its own fresh interpreter (``python -m
mmkem.analysis.model_cost --worker CONFIG --settings JSON``), one after the other, so that one
model's memory cannot hide in another's.

Per model (:func:`measure_model`):

- params: total, trainable (a frozen backbone is not), and the neck's own count with its share of
  the total and of the trainable params.
- training speed: ``model.train_step`` on one fixed synthetic batch
  (:func:`~mmkem.analysis.batches.synthetic_batch`: preprocessing, forward, losses, backward and
  the optimizer step of the config's ``optim_wrapper``), ``warmup`` untimed steps, then ``steps``
  timed steps (:func:`~mmkem.analysis.timing.time_call`); steps per second of the best and of the
  median step (wall clock), and per second of the process's CPU time (all its threads).
- peak memory. CPU: the process's peak resident set size (``VmHWM``) during the steps, minus the
  resident size just after the imports (``peak over imports``) and minus the resident size with
  the model, optimizer and batch built (``peak over built``); the peak is reset after the build
  (``/proc/self/clear_refs``). CUDA, in addition: ``torch.cuda.max_memory_allocated`` over the
  steps.
- the neck alone: forward+backward of the neck on the task encoders' maps of the same batch (best
  of ``neck_repeats`` after one warm-up), and its share of the best training step.

The command line is ``tools/analysis/model_cost.py`` (docs/experiments.md).
"""

import argparse
import json
import os
import os.path as osp
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Callable, List, Optional, Sequence, Tuple

from .tables import markdown_table
from .timing import time_call, time_forward_backward

__all__ = [
    'PAPER',
    'RESULT_PREFIX',
    'ModelCostSettings',
    'format_table',
    'measure_model',
    'resolve_config',
    'run_model_cost',
    'run_worker',
    'settings_line',
    'time_neck',
    'write_report',
]

# Table 6 of the paper (one GPU, batch size and resolution not stated beyond the NYUD setting)
PAPER = dict(
    KEM=dict(steps_per_s=10.22, memory_mb=265),
    SKEM=dict(steps_per_s=7.53, memory_mb=285),
    TaskCrossAttention=dict(steps_per_s=3.68, memory_mb=314),
)
RESULT_PREFIX = 'MODEL_COST_RESULT '


@dataclass
class ModelCostSettings:
    """What every model is measured with (the options of ``tools/analysis/model_cost.py``).

    Args:
        size (tuple[int, int]): Input ``(H, W)``. Defaults to (448, 576), the paper's NYUD-v2 crop.
        batch_size (int): Images per step. Defaults to 2.
        warmup (int): Untimed steps. Defaults to 1.
        steps (int): Timed steps. Defaults to 3.
        threads (int): Torch CPU threads. Defaults to 1.
        neck_repeats (int): Timed runs of the neck's own forward+backward, best kept. Defaults
            to 5.
        device (str): ``'cpu'`` or ``'cuda'``. Defaults to ``'cpu'``.

    Raises:
        ValueError: A count below its minimum or a size under 32 x 32, named by its option.
    """

    size: Tuple[int, int] = (448, 576)
    batch_size: int = 2
    warmup: int = 1
    steps: int = 3
    threads: int = 1
    neck_repeats: int = 5
    device: str = 'cpu'

    def __post_init__(self):
        self.size = tuple(self.size)
        for name in ('batch_size', 'steps', 'threads', 'neck_repeats'):
            if getattr(self, name) < 1:
                raise ValueError(
                    f'--{name.replace("_", "-")} must be >= 1, got {getattr(self, name)}'
                )
        if self.warmup < 0:
            raise ValueError(f'--warmup must be >= 0, got {self.warmup}')
        if min(self.size) < 32:
            raise ValueError(f'--size must be at least 32 x 32 (Swin stride), got {self.size}')


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


# ---------------------------------------------------------------------- one model (this process)
def time_neck(model, data, repeats, device):
    """Best seconds of the neck's forward+backward on the task encoders' maps of ``data``."""
    import torch

    with torch.no_grad():
        inputs = model.data_preprocessor(data, True)['inputs']
        shared = model.extract_feat(inputs)
        feats = [model.task_encoders[task](shared) for task in model.tasks]
    feats = [feat.detach().requires_grad_() for feat in feats]
    best = time_forward_backward(model.interaction, feats, repeats, device)
    model.zero_grad(set_to_none=True)
    return best


def measure_model(config: str, settings: ModelCostSettings) -> dict:
    """Build ``config``'s model with random weights and measure it in this process.

    Args:
        config (str): The config file.
        settings (ModelCostSettings): Size, batch, steps, threads, device.

    Returns:
        dict: Params, step times, memory and the neck's share (the keys of ``results.json``'s
        ``models`` entries).
    """
    import torch
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmkem  # noqa: F401
    from mmkem.engine import fill_task_config
    from mmkem.engine.hooks import train_iter_attention

    from .batches import synthetic_batch

    torch.set_num_threads(settings.threads)
    device = settings.device
    rss_imports = _proc_status_kb('VmRSS')
    cfg = fill_task_config(Config.fromfile(config))
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    cfg.model.pop('pretrained', None)
    cfg.model.backbone.pop('init_cfg', None)
    cfg.model.backbone.pop('pretrained', None)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(device)
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = synthetic_batch(model, settings.batch_size, settings.size)

    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    neck = (
        sum(p.numel() for p in model.interaction.parameters())
        if model.interaction is not None
        else 0
    )

    rss_built = _proc_status_kb('VmRSS')
    peak_reset = _reset_peak_rss()
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    # As the config trains: a Rep-MTL config's MathSDPAHook (attention twice differentiable).
    with train_iter_attention(cfg):
        timings = time_call(
            lambda: model.train_step(data, optim_wrapper),
            settings.steps,
            warmup=settings.warmup,
            device=device,
        )
    times, cpu_times = timings.wall, timings.cpu
    rss_peak = _proc_status_kb('VmHWM')
    neck_s = (
        time_neck(model, data, settings.neck_repeats, device)
        if model.interaction is not None
        else None
    )

    mib = 1024.0
    result = dict(
        config=config,
        neck=cfg.model.interaction.type if cfg.model.get('interaction') else None,
        params=params,
        trainable_params=trainable,
        neck_params=neck,
        neck_share_of_params=neck / params,
        neck_share_of_trainable=neck / trainable if trainable else float('nan'),
        step_s=times,
        best_step_s=timings.best,
        median_step_s=timings.median,
        steps_per_s_best=1.0 / timings.best,
        steps_per_s_median=1.0 / timings.median,
        cpu_step_s=cpu_times,
        steps_per_cpu_s_median=1.0 / timings.cpu_median,
        rss_imports_mb=rss_imports / mib if rss_imports else None,
        rss_built_mb=rss_built / mib if rss_built else None,
        peak_rss_mb=rss_peak / mib if rss_peak else None,
        peak_rss_reset_after_build=peak_reset,
        peak_over_imports_mb=(rss_peak - rss_imports) / mib if rss_peak else None,
        peak_over_built_mb=(rss_peak - rss_built) / mib if rss_peak else None,
        neck_fwd_bwd_s=neck_s,
        neck_share_of_step=neck_s / timings.best if neck_s is not None else None,
    )
    if device.startswith('cuda'):
        result['cuda_max_allocated_mb'] = torch.cuda.max_memory_allocated() / 2**20
        result['cuda_max_reserved_mb'] = torch.cuda.max_memory_reserved() / 2**20
    return result


# ---------------------------------------------------------------------- one model (subprocess)
def resolve_config(config: str, root: Optional[str] = None) -> str:
    """``config`` as given (relative to the working directory) if it exists, else under ``root``.

    Args:
        config (str): A config path.
        root (str, optional): Where else to look (the command line passes its checkout, so that
            its default configs work from any directory). Defaults to None.

    Returns:
        str: The absolute path.

    Raises:
        ValueError: The config is in neither place.
    """
    if osp.exists(config):
        return osp.abspath(config)
    if root is not None and osp.exists(osp.join(root, config)):
        return osp.join(root, config)
    where = f' (nor under {root})' if root is not None else ''
    raise ValueError(f'config {config!r} not found{where}')


def run_worker(config: str, settings: ModelCostSettings) -> dict:
    """Run :func:`measure_model` for ``config`` in a fresh interpreter; return its result dict.

    The worker imports the same ``mmkem`` as this process (its package directory goes first on
    the worker's ``PYTHONPATH``).
    """

    cmd = [
        sys.executable, '-m', 'mmkem.analysis.model_cost', '--worker', config,
        '--settings', json.dumps(asdict(settings)),
    ]  # fmt: skip
    # The worker resolves imports as this process does, so it runs the same mmkem.
    python_path = os.pathsep.join(p for p in sys.path if p)
    env = dict(os.environ, OMP_NUM_THREADS=str(settings.threads), PYTHONPATH=python_path)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    raise RuntimeError(
        f'measuring {config} failed (exit code {proc.returncode}):\n{proc.stderr[-3000:]}'
    )


# ---------------------------------------------------------------------- all models, the report
def run_model_cost(
    configs: Sequence[str],
    settings: ModelCostSettings,
    command: str,
    root: Optional[str] = None,
    log: Optional[Callable[[str], None]] = None,
) -> dict:
    """Measure every config in its own worker; the first one is the reference of the ratios.

    Args:
        configs (Sequence[str]): Config files (see :func:`resolve_config` for ``root``).
        settings (ModelCostSettings): What every model is measured with.
        command (str): The command line, recorded in the metadata.
        root (str, optional): Where else to look for the configs. Defaults to None.
        log (callable, optional): Called with a line before each model. Defaults to None.

    Returns:
        dict: ``meta`` (date, device, settings, wall time, command), ``models`` (one
        :func:`measure_model` dict each) and ``ratios_to_first`` (per neck: speed and memory
        ratios to the first model).
    """
    import time

    import torch

    from .machine import device_name

    start = time.perf_counter()
    results = []
    for config in configs:
        if log is not None:
            log(f'measuring {config} ...')
        results.append(run_worker(resolve_config(config, root), settings))
    device = device_name(settings.device, settings.threads)
    cuda = settings.device.startswith('cuda')
    meta = dict(
        date=datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        device=device,
        torch=torch.__version__,
        size=list(settings.size),
        batch_size=settings.batch_size,
        warmup=settings.warmup,
        steps=settings.steps,
        weights='random (backbone init_cfg/pretrained dropped)',
        memory='peak RSS (VmHWM, reset after the build) minus RSS after imports / after the build'
        + ('; CUDA max_memory_allocated over the steps' if cuda else ''),
        wall_s=round(time.perf_counter() - start, 1),
        command=command,
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
    return dict(meta=meta, models=results, ratios_to_first=ratios)


def format_table(results: List[dict], markdown: bool = False) -> str:
    """The models side by side, with ratios to the first one and the paper's ratios."""
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
        return '\n'.join(markdown_table(cols, rows))
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    lines = ['  '.join(c.rjust(w) for c, w in zip(cols, widths))]
    lines.append('-' * len(lines[0]))
    lines += ['  '.join(v.rjust(w) for v, w in zip(row, widths)) for row in rows]
    return '\n'.join(lines)


def settings_line(settings: ModelCostSettings) -> str:
    """``HxW, batch B, best/median of N steps after W warm-up``: what the numbers are of."""
    return (
        f'{settings.size[0]}x{settings.size[1]}, batch {settings.batch_size}, best/median of '
        f'{settings.steps} steps after {settings.warmup} warm-up'
    )


def write_report(out: str, report: dict, settings: ModelCostSettings) -> None:
    """Write ``results.json`` (meta, models, ratios and the paper's numbers) and ``results.md``."""
    meta, results = report['meta'], report['models']
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'results.json'), 'w') as f:
        json.dump(
            dict(meta=meta, models=results, ratios_to_first=report['ratios_to_first'], paper=PAPER),
            f,
            indent=1,
        )
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write(f'# Model cost ({meta["date"]}, {meta["device"]})\n\n')
        f.write(f'{settings_line(settings)}, random weights.\n\n')
        f.write(format_table(results, markdown=True) + '\n')


def _worker_main(argv=None) -> None:
    """``python -m mmkem.analysis.model_cost --worker CONFIG --settings JSON``: print the result."""
    parser = argparse.ArgumentParser(description='Measure one model (run by run_worker).')
    parser.add_argument('--worker', required=True, metavar='CONFIG')
    parser.add_argument('--settings', required=True, help='ModelCostSettings as JSON')
    args = parser.parse_args(argv)
    settings = ModelCostSettings(**json.loads(args.settings))
    result = measure_model(args.worker, settings)
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == '__main__':
    _worker_main()
