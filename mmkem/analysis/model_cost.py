"""Training speed and peak memory of whole multi-task models (the paper's Table 6).

Each config's model is built with random weights: the backbone's ``init_cfg`` (the pretrained
checkpoint) and ``pretrained`` are dropped; speed and memory do not depend on the values of the
weights. Every model is measured in its own fresh interpreter (``python -m
mmkem.analysis.model_cost --worker CONFIG --settings JSON``), one after the other, so that one
model's memory cannot hide in another's.

Per model (:func:`measure_model`):

- params: total, trainable (a frozen backbone is not), and the neck's own count with its share of
  the total and of the trainable params.
- the interaction's token grid: the shared map's ``(h, w)`` (its stride over the input) and
  ``n_s = num_tasks * h * w``, the tokens the neck mixes.
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
  of ``neck_repeats`` after one warm-up), its share of the best training step, and the attention
  kernels its forward ran (the ``aten`` ops ``scaled_dot_product_attention`` dispatched to, seen
  by the profiler: on CPU the flash kernel for float32 inputs without a mask).

Budgets (:class:`ModelCostSettings`): a model whose worker runs longer than ``time_budget_s`` is
stopped, and one that needs more than ``memory_budget_mb`` (or more than the machine has) fails
its allocation; either way it gets a row that says so, with what was measured until then (its
parameters, its grid, the steps it finished, or a lower bound of the step it was in). The worker
reports its progress to the parent on stdout (``MODEL_COST_EVENT {...}`` lines), which is how the
parent knows that much about a worker it had to stop.

The ratios of a model are to the first model of its group: the models with the same number of
tasks and the same interaction grid (``n_s``), so that one run can put KEM, sKEM and
cross-attention side by side at several resolutions.

The command line is ``tools/analysis/model_cost.py`` (docs/experiments.md).
"""

import argparse
import json
import os
import os.path as osp
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Callable, List, Optional, Sequence, Tuple

from .tables import markdown_table
from .timing import time_call, time_forward_backward

__all__ = [
    'EVENT_PREFIX',
    'PAPER',
    'RESULT_PREFIX',
    'ModelCostSettings',
    'add_ratios',
    'attention_kernels',
    'format_table',
    'is_out_of_memory',
    'measure_model',
    'resolve_config',
    'result_from_events',
    'run_model_cost',
    'run_worker',
    'settings_line',
    'summary_lines',
    'time_neck',
    'worker_command',
    'write_report',
]

# Table 6 of the paper (one GPU, batch size and resolution not stated beyond the NYUD setting)
PAPER = dict(
    KEM=dict(steps_per_s=10.22, memory_mb=265),
    SKEM=dict(steps_per_s=7.53, memory_mb=285),
    TaskCrossAttention=dict(steps_per_s=3.68, memory_mb=314),
)
RESULT_PREFIX = 'MODEL_COST_RESULT '
EVENT_PREFIX = 'MODEL_COST_EVENT '
# exit code of a worker whose allocation failed (its budget or the machine's memory)
OUT_OF_MEMORY_EXIT = 3


@dataclass
class ModelCostSettings:
    """What every model is measured with (the options of ``tools/analysis/model_cost.py``).

    Args:
        size (tuple[int, int], optional): Input ``(H, W)``. Defaults to None: each config's
            ``crop_size`` (NYUD-v2 448 x 576, PASCAL-Context 512 x 512).
        batch_size (int): Images per step. Defaults to 2.
        warmup (int): Untimed steps. Defaults to 1.
        steps (int): Timed steps. Defaults to 3.
        threads (int): Torch CPU threads. Defaults to 1.
        neck_repeats (int): Timed runs of the neck's own forward+backward, best kept. Defaults
            to 5.
        device (str): ``'cpu'`` or ``'cuda'``. Defaults to ``'cpu'``.
        time_budget_s (float, optional): Wall-clock seconds one model's worker may run (build,
            steps and the neck's timing); a worker still running then is stopped and its row says
            so. Defaults to None (no limit).
        memory_budget_mb (float, optional): MiB one model may allocate beyond what its process
            holds after the imports (CPU: the limit of the process's private data,
            ``RLIMIT_DATA``, which is at least its resident growth; CUDA: the per-process memory
            fraction); an allocation beyond fails and its row says so. Defaults to None (no limit
            but the machine's).

    Raises:
        ValueError: A count below its minimum, a size under 32 x 32 or a budget that is not
            positive, named by its option.
    """

    size: Optional[Tuple[int, int]] = None
    batch_size: int = 2
    warmup: int = 1
    steps: int = 3
    threads: int = 1
    neck_repeats: int = 5
    device: str = 'cpu'
    time_budget_s: Optional[float] = None
    memory_budget_mb: Optional[float] = None

    def __post_init__(self):
        if self.size is not None:
            self.size = tuple(self.size)
            if len(self.size) != 2 or min(self.size) < 32:
                raise ValueError(
                    f'--size must be H W, at least 32 x 32 (Swin stride), got {self.size}'
                )
        for name in ('batch_size', 'steps', 'threads', 'neck_repeats'):
            if getattr(self, name) < 1:
                raise ValueError(
                    f'--{name.replace("_", "-")} must be >= 1, got {getattr(self, name)}'
                )
        if self.warmup < 0:
            raise ValueError(f'--warmup must be >= 0, got {self.warmup}')
        for name in ('time_budget_s', 'memory_budget_mb'):
            value = getattr(self, name)
            if value is not None and not value > 0:
                option = '--time-budget' if name == 'time_budget_s' else '--memory-budget'
                raise ValueError(f'{option} must be > 0 (or not given), got {value}')


# ---------------------------------------------------------------------- memory of this process
def _proc_status_kb(key, pid='self'):
    """A ``kB`` field of /proc/<pid>/status (``VmRSS``, ``VmHWM``, ``VmData``), or None."""
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _proc_cpu_s(pid):
    """User + system CPU seconds of process ``pid`` (/proc/<pid>/stat), or None."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    except (OSError, ValueError, IndexError):
        return None


def _reset_peak_rss():
    """Reset ``VmHWM`` to the current resident size (Linux >= 4.0); False if not possible."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def _limit_memory(settings: 'ModelCostSettings') -> Optional[str]:
    """Apply ``memory_budget_mb`` to this process; say how (None when there is no budget)."""
    if settings.memory_budget_mb is None:
        return None
    budget = int(settings.memory_budget_mb * 2**20)
    if settings.device.startswith('cuda'):
        import torch

        total = torch.cuda.get_device_properties(settings.device).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, budget / total), settings.device)
        return f'CUDA memory fraction {min(1.0, budget / total):.3f}'
    import resource

    data_kb = _proc_status_kb('VmData')
    if data_kb is None:
        return 'not applied (no /proc/self/status)'
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    soft = data_kb * 1024 + budget
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
    return f'RLIMIT_DATA = private data after the imports + {settings.memory_budget_mb:g} MiB'


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is a failed allocation (torch's CPU or CUDA allocator, or Python's)."""
    if isinstance(exc, MemoryError):
        return True
    try:
        import torch

        if isinstance(exc, torch.OutOfMemoryError):
            return True
    except (ImportError, AttributeError):
        pass
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(
        key in text for key in ("can't allocate memory", 'out of memory', 'not enough memory')
    )


# ---------------------------------------------------------------------- one model (this process)
def _emit(event: str, **fields) -> None:
    """Tell the parent how far this worker got (one ``MODEL_COST_EVENT`` line on stdout)."""
    fields = dict(event=event, cpu_clock=time.process_time(), **fields)
    print(EVENT_PREFIX + json.dumps(fields), flush=True)


def attention_kernels(module, inputs) -> List[str]:
    """The ``aten`` attention kernels ``module(inputs)`` runs (one forward, no gradient).

    ``scaled_dot_product_attention`` dispatches to one of several kernels (CPU: flash or math;
    CUDA: flash, memory-efficient, cuDNN or math); the profiler sees which one ran.

    Returns:
        list[str]: Sorted op names, e.g. ``['aten::_scaled_dot_product_flash_attention_for_cpu']``;
        empty for a module without attention.
    """
    import torch
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU]
    with torch.no_grad(), profile(activities=activities) as prof:
        module(inputs)
    names = {event.key for event in prof.key_averages()}
    return sorted(
        name
        for name in names
        if 'attention' in name and name != 'aten::scaled_dot_product_attention'
    )


def time_neck(model, data, repeats, device, kernels: bool = False):
    """Best seconds of the neck's forward+backward on the task encoders' maps of ``data``.

    With ``kernels=True`` returns ``(seconds, attention_kernels)``.
    """
    import torch

    with torch.no_grad():
        inputs = model.data_preprocessor(data, True)['inputs']
        shared = model.extract_feat(inputs)
        feats = [model.task_encoders[task](shared) for task in model.tasks]
    feats = [feat.detach().requires_grad_() for feat in feats]
    best = time_forward_backward(model.interaction, feats, repeats, device)
    model.zero_grad(set_to_none=True)
    if kernels:
        return best, attention_kernels(model.interaction, feats)
    return best


def _config_size(cfg, config: str) -> Tuple[int, int]:
    """The config's ``crop_size`` (the training input), the default input size."""
    size = cfg.get('crop_size')
    if size is None or len(size) != 2:
        raise ValueError(
            f'{config} has no crop_size = (H, W) (the training crop); give --size H W instead'
        )
    return int(size[0]), int(size[1])


def measure_model(
    config: str, settings: ModelCostSettings, emit: Optional[Callable[..., None]] = None
) -> dict:
    """Build ``config``'s model with random weights and measure it in this process.

    Args:
        config (str): The config file.
        settings (ModelCostSettings): Size, batch, steps, threads, device.
        emit (callable, optional): Called as ``emit(event, **fields)`` as the measurement goes
            (``config``, ``built``, ``grid``, ``step``); the worker passes one that prints
            ``MODEL_COST_EVENT`` lines for its parent. Defaults to None (silent).

    Returns:
        dict: Params, grid, step times, memory and the neck's share (the keys of
        ``results.json``'s ``models`` entries).
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

    emit = emit or (lambda event, **fields: None)
    torch.set_num_threads(settings.threads)
    device = settings.device
    rss_imports = _proc_status_kb('VmRSS')
    memory_limit = _limit_memory(settings)
    cfg = fill_task_config(Config.fromfile(config))
    size = settings.size or _config_size(cfg, config)
    neck_type = cfg.model.interaction.type if cfg.model.get('interaction') else None
    tasks = list(cfg.model.tasks)
    emit('config', neck=neck_type, tasks=tasks, size=list(size))
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    cfg.model.pop('pretrained', None)
    cfg.model.backbone.pop('init_cfg', None)
    cfg.model.backbone.pop('pretrained', None)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(device)
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = synthetic_batch(model, settings.batch_size, size)

    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    neck = (
        sum(p.numel() for p in model.interaction.parameters())
        if model.interaction is not None
        else 0
    )
    mib = 1024.0
    rss_built = _proc_status_kb('VmRSS')
    built = dict(
        params=params,
        trainable_params=trainable,
        neck_params=neck,
        rss_imports_mb=rss_imports / mib if rss_imports else None,
        rss_built_mb=rss_built / mib if rss_built else None,
    )
    emit('built', **built)

    grid = {}

    def record_grid(module, args, output):
        if not grid:
            grid.update(grid=list(output.shape[-2:]), n_s=len(tasks) * output[0, 0].numel())
            emit('grid', **grid)

    hook = model.feature_adapter.register_forward_hook(record_grid)
    peak_reset = _reset_peak_rss()
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    count = [0]

    def step():
        start = time.perf_counter()
        model.train_step(data, optim_wrapper)
        count[0] += 1
        emit(
            'step',
            index=count[0],
            warmup=count[0] <= settings.warmup,
            wall=time.perf_counter() - start,
        )

    # As the config trains: a Rep-MTL config's MathSDPAHook (attention twice differentiable).
    with train_iter_attention(cfg):
        timings = time_call(step, settings.steps, warmup=settings.warmup, device=device)
    hook.remove()
    times, cpu_times = timings.wall, timings.cpu
    rss_peak = _proc_status_kb('VmHWM')
    neck_s, kernels = (
        time_neck(model, data, settings.neck_repeats, device, kernels=True)
        if model.interaction is not None
        else (None, [])
    )

    result = dict(
        config=config,
        status='ok',
        neck=neck_type,
        tasks=tasks,
        size=list(size),
        **grid,
        **built,
        neck_share_of_params=neck / params,
        neck_share_of_trainable=neck / trainable if trainable else float('nan'),
        step_s=times,
        best_step_s=timings.best,
        median_step_s=timings.median,
        steps_per_s_best=1.0 / timings.best,
        steps_per_s_median=1.0 / timings.median,
        cpu_step_s=cpu_times,
        steps_per_cpu_s_median=1.0 / timings.cpu_median,
        peak_rss_mb=rss_peak / mib if rss_peak else None,
        peak_rss_reset_after_build=peak_reset,
        peak_over_imports_mb=(rss_peak - rss_imports) / mib if rss_peak else None,
        peak_over_built_mb=(rss_peak - rss_built) / mib if rss_peak else None,
        memory_limit=memory_limit,
        neck_fwd_bwd_s=neck_s,
        neck_share_of_step=neck_s / timings.best if neck_s is not None else None,
        attention_kernels=kernels,
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


def result_from_events(
    config: str,
    events: List[dict],
    status: str,
    note: str,
    running_s: Optional[float] = None,
    running_cpu_s: Optional[float] = None,
    peak_rss_mb: Optional[float] = None,
) -> dict:
    """The row of a model whose worker did not finish, from the events it reported.

    Args:
        config (str): The config.
        events (list[dict]): The worker's ``MODEL_COST_EVENT`` payloads, in order.
        status (str): ``'over time budget'``, ``'out of memory'`` or ``'killed'``.
        note (str): What happened, for the table.
        running_s (float, optional): Wall seconds the step it was in had run when it stopped.
        running_cpu_s (float, optional): CPU seconds of that step.
        peak_rss_mb (float, optional): The worker's peak resident size when it stopped.

    Returns:
        dict: What is known (``neck``, ``tasks``, params, ``grid``, ``n_s``, the timed steps it
        finished) with ``status`` and ``note``. With no timed step finished,
        ``step_s_lower_bound``: the longest step seen (finished warm-up steps, or the one it was
        in), a lower bound of that step's time, and ``cpu_step_s_lower_bound`` likewise; the
        speed columns of the table then show bounds.
    """
    result = dict(config=config, status=status, note=note, neck=None)
    for event in events:
        result.update({k: v for k, v in event.items() if k not in ('event', 'cpu_clock')})
    for key in ('index', 'warmup', 'wall'):
        result.pop(key, None)
    steps = [e for e in events if e['event'] == 'step']
    timed = [e for e in steps if not e['warmup']]
    if 'params' in result and 'trainable_params' in result:
        trainable = result['trainable_params']
        result['neck_share_of_params'] = result['neck_params'] / result['params']
        result['neck_share_of_trainable'] = (
            result['neck_params'] / trainable if trainable else float('nan')
        )
    cpu_steps = []
    previous = next((e['cpu_clock'] for e in events if e['event'] == 'built'), None)
    for e in steps:
        if previous is not None:
            cpu_steps.append(e['cpu_clock'] - previous)
        previous = e['cpu_clock']
    if timed:
        wall = [e['wall'] for e in timed]
        result.update(
            step_s=wall,
            best_step_s=min(wall),
            median_step_s=statistics.median(wall),
            steps_per_s_best=1.0 / min(wall),
            steps_per_s_median=1.0 / statistics.median(wall),
        )
        cpu = cpu_steps[-len(timed) :]
        if len(cpu) == len(timed):
            result.update(cpu_step_s=cpu, steps_per_cpu_s_median=1.0 / statistics.median(cpu))
    else:
        built = any(e['event'] == 'built' for e in events)
        seen = [e['wall'] for e in steps] + ([running_s] if running_s is not None and built else [])
        if seen:
            result['step_s_lower_bound'] = max(seen)
        seen_cpu = cpu_steps + ([running_cpu_s] if running_cpu_s is not None and built else [])
        if seen_cpu:
            result['cpu_step_s_lower_bound'] = max(seen_cpu)
    if peak_rss_mb is not None:
        result['peak_rss_mb'] = peak_rss_mb
        if result.get('rss_imports_mb'):
            result['peak_over_imports_mb_lower_bound'] = peak_rss_mb - result['rss_imports_mb']
    return result


def _read_lines(stream, lines: 'queue.Queue') -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def worker_command(config: str, settings: ModelCostSettings) -> List[str]:
    """The command line of the worker that measures ``config``."""
    return [
        sys.executable, '-m', 'mmkem.analysis.model_cost', '--worker', config,
        '--settings', json.dumps(asdict(settings)),
    ]  # fmt: skip


def run_worker(config: str, settings: ModelCostSettings) -> dict:
    """Run :func:`measure_model` for ``config`` in a fresh interpreter; return its result dict.

    The worker imports the same ``mmkem`` as this process (its package directory goes first on
    the worker's ``PYTHONPATH``). It is stopped when ``settings.time_budget_s`` runs out; a
    worker stopped so, or whose allocation failed, or that the system killed, gives the row of
    :func:`result_from_events` instead of raising.

    Raises:
        RuntimeError: The worker failed otherwise (its error output is in the message).
    """
    cmd = worker_command(config, settings)
    # The worker resolves imports as this process does, so it runs the same mmkem.
    python_path = os.pathsep.join(p for p in sys.path if p)
    env = dict(os.environ, OMP_NUM_THREADS=str(settings.threads), PYTHONPATH=python_path)
    start = time.monotonic()
    deadline = None if settings.time_budget_s is None else start + settings.time_budget_s
    events, result = [], None
    last_event_at = start
    with tempfile.TemporaryFile('w+') as stderr:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
        lines: queue.Queue = queue.Queue()
        reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True)
        reader.start()
        timed_out = False
        while True:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                line = lines.get(timeout=timeout)
            except queue.Empty:
                timed_out = True
                break
            if line is None:
                break
            if line.startswith(EVENT_PREFIX):
                events.append(json.loads(line[len(EVENT_PREFIX) :]))
                if events[-1]['event'] in ('built', 'step'):  # a step starts
                    last_event_at = time.monotonic()
            elif line.startswith(RESULT_PREFIX):
                result = json.loads(line[len(RESULT_PREFIX) :])
        if timed_out:
            running_s = time.monotonic() - last_event_at
            cpu_now = _proc_cpu_s(proc.pid)
            hwm = _proc_status_kb('VmHWM', proc.pid)
            proc.kill()
            proc.wait()
            reader.join(timeout=5)
            marks = [e for e in events if e['event'] in ('built', 'step')]
            # /proc counts clock ticks (10 ms): never below 0 against process_time
            running_cpu = (
                max(0.0, cpu_now - marks[-1]['cpu_clock'])
                if cpu_now is not None and marks
                else None
            )
            return result_from_events(
                config,
                events,
                'over time budget',
                f'stopped after {settings.time_budget_s:g} s: {_progress(events, settings)}',
                running_s=running_s,
                running_cpu_s=running_cpu,
                peak_rss_mb=hwm / 1024.0 if hwm else None,
            )
        proc.wait()
        if result is not None:
            return result
        if proc.returncode == OUT_OF_MEMORY_EXIT:
            failed = next((e for e in events if e['event'] == 'out_of_memory'), {})
            budget = settings.memory_budget_mb
            what = f'over the memory budget ({budget:g} MiB)' if budget else 'out of memory'
            return result_from_events(
                config,
                [e for e in events if e['event'] != 'out_of_memory'],
                'out of memory',
                f'{what}: {_progress(events, settings)} ({failed.get("error", "")[:120]})',
            )
        if proc.returncode is not None and proc.returncode < 0:
            return result_from_events(
                config,
                events,
                'killed',
                f'killed by signal {-proc.returncode} (the system out of memory?): '
                f'{_progress(events, settings)}',
            )
        stderr.seek(0)
        raise RuntimeError(
            f'measuring {config} failed (exit code {proc.returncode}):\n{stderr.read()[-3000:]}'
        )


def _progress(events: List[dict], settings: ModelCostSettings) -> str:
    """How far a worker got, in words."""
    steps = [e for e in events if e['event'] == 'step']
    timed = [e for e in steps if not e['warmup']]
    if not any(e['event'] == 'built' for e in events):
        return 'before the model was built'
    if timed:
        if len(timed) == settings.steps:
            return f'after all {len(timed)} timed steps (in the neck timing)'
        return f'{len(timed)} of {settings.steps} timed steps done'
    if steps:
        return f'{len(steps)} of {settings.warmup} warm-up steps done'
    return 'in the first training step'


# ---------------------------------------------------------------------- all models, the report
def _group(result: dict) -> tuple:
    return (len(result.get('tasks') or ()), result.get('n_s'), tuple(result.get('size') or ()))


def add_ratios(results: List[dict]) -> List[dict]:
    """Give each model its group's reference and its ratios to it (in place; also returned).

    A group is the models with the same number of tasks, interaction grid (``n_s``) and input
    size; its reference is its first model (in the order measured). A model whose grid is not
    known (it stopped before its first forward) joins the group of the model before it.

    Every model gets ``reference`` (the reference's config) and ``ratios``: ``step_time``,
    ``step_time_best`` and ``cpu_time`` (this model's median / best / median CPU seconds per step
    over the reference's, e.g. cross-attention's over KEM's, the paper's 2.78), ``speed_median``
    (the inverse of ``step_time``), ``peak_over_imports`` and ``peak_over_built``. A ratio that
    cannot be measured is None, or a bound: ``step_time_lower_bound`` when only a lower bound of
    the step is known.
    """
    refs, previous = {}, None
    for r in results:
        key = _group(r) if r.get('n_s') is not None or previous is None else previous
        previous = key
        ref = refs.setdefault(key, r)
        r['reference'] = ref['config']
        r['ratios'] = _ratios(r, ref)
    return results


def _ratio(a, b):
    return a / b if a is not None and b else None


def _ratios(r: dict, ref: dict) -> dict:
    ratios = dict(
        step_time=_ratio(r.get('median_step_s'), ref.get('median_step_s')),
        step_time_best=_ratio(r.get('best_step_s'), ref.get('best_step_s')),
        speed_median=_ratio(ref.get('median_step_s'), r.get('median_step_s')),
        peak_over_imports=_ratio(r.get('peak_over_imports_mb'), ref.get('peak_over_imports_mb')),
        peak_over_built=_ratio(r.get('peak_over_built_mb'), ref.get('peak_over_built_mb')),
    )
    cpu, ref_cpu = r.get('steps_per_cpu_s_median'), ref.get('steps_per_cpu_s_median')
    ratios['cpu_time'] = ref_cpu / cpu if cpu and ref_cpu else None
    if r.get('step_s_lower_bound') is not None:
        ratios['step_time_lower_bound'] = _ratio(r['step_s_lower_bound'], ref.get('median_step_s'))
    if r.get('cpu_step_s_lower_bound') is not None and ref_cpu:
        ratios['cpu_time_lower_bound'] = r['cpu_step_s_lower_bound'] * ref_cpu
    return ratios


def run_model_cost(
    configs: Sequence[str],
    settings: ModelCostSettings,
    command: str,
    root: Optional[str] = None,
    log: Optional[Callable[[str], None]] = None,
) -> dict:
    """Measure every config in its own worker; ratios to the first model of each group.

    Args:
        configs (Sequence[str]): Config files (see :func:`resolve_config` for ``root``).
        settings (ModelCostSettings): What every model is measured with.
        command (str): The command line, recorded in the metadata.
        root (str, optional): Where else to look for the configs. Defaults to None.
        log (callable, optional): Called with a line before and after each model. Defaults to
            None.

    Returns:
        dict: ``meta`` (date, device, settings, wall time, command) and ``models`` (one
        :func:`measure_model` or :func:`result_from_events` dict each, with its ``reference``
        and ``ratios`` from :func:`add_ratios`).
    """
    import torch

    from .machine import device_name

    start = time.perf_counter()
    results = []
    paths = [resolve_config(config, root) for config in configs]  # all missing ones fail first
    for config, path in zip(configs, paths):
        if log is not None:
            log(f'measuring {config} ...')
        results.append(run_worker(path, settings))
        if log is not None and results[-1]['status'] != 'ok':
            log(f'  {results[-1]["status"]}: {results[-1]["note"]}')
    add_ratios(results)
    device = device_name(settings.device, settings.threads)
    cuda = settings.device.startswith('cuda')
    meta = dict(
        date=datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        device=device,
        torch=torch.__version__,
        size=list(settings.size) if settings.size else "each config's crop_size",
        batch_size=settings.batch_size,
        warmup=settings.warmup,
        steps=settings.steps,
        neck_repeats=settings.neck_repeats,
        time_budget_s=settings.time_budget_s,
        memory_budget_mb=settings.memory_budget_mb,
        weights='random (backbone init_cfg/pretrained dropped)',
        memory='peak RSS (VmHWM, reset after the build) minus RSS after imports / after the build'
        + ('; CUDA max_memory_allocated over the steps' if cuda else ''),
        wall_s=round(time.perf_counter() - start, 1),
        command=command,
    )
    return dict(meta=meta, models=results)


def _name(config: str) -> str:
    return osp.splitext(osp.basename(config))[0]


def _fmt(value, spec='.2f', bound=''):
    return '-' if value is None else f'{bound}{value:{spec}}'


def format_table(results: List[dict], markdown: bool = False) -> str:
    """The models side by side, with ratios to their group's reference and the paper's ratios.

    ``results`` are :func:`run_model_cost`'s models (with ``ratios``; models without are given
    them by :func:`add_ratios`). A model that did not finish shows what is known: bounds
    (``>``, ``<``) where only the step it was stopped in is known, ``-`` where nothing is, and
    its note.
    """
    if any('ratios' not in r for r in results):
        add_ratios(results)
    by_config = {r['config']: r for r in results}
    cuda = any('cuda_max_allocated_mb' in r for r in results)
    cols = (
        'config', 'neck', 'tasks', 'grid (n_s)', 'params M', 'trainable M',
        'neck M (% trainable)', 'steps/s best', 'steps/s median', 'step time / ref',
        'paper step time / ref', 'steps/CPU-s median', 'CPU time / ref', 'peak over imports MB',
        'peak over built MB', 'memory / ref', 'paper memory / ref', 'neck fwd+bwd s (% step)',
        'attention kernel', 'note',
    )  # fmt: skip
    if cuda:
        cols += ('CUDA max allocated MB',)
    rows = []
    for r in results:
        ref = by_config[r['reference']]
        ratios = r['ratios']
        paper, paper_ref = PAPER.get(r.get('neck')), PAPER.get(ref.get('neck'))
        paper_time = paper_mem = '-'
        if paper and paper_ref:
            paper_time = f'{paper_ref["steps_per_s"] / paper["steps_per_s"]:.2f}'
            paper_mem = f'{paper["memory_mb"] / paper_ref["memory_mb"]:.2f}'
        lower = r.get('step_s_lower_bound')
        cpu_lower = r.get('cpu_step_s_lower_bound')
        step_time = _fmt(ratios['step_time'])
        if ratios['step_time'] is None and ratios.get('step_time_lower_bound') is not None:
            step_time = _fmt(ratios['step_time_lower_bound'], bound='> ')
        cpu_time = _fmt(ratios['cpu_time'])
        if ratios['cpu_time'] is None and ratios.get('cpu_time_lower_bound') is not None:
            cpu_time = _fmt(ratios['cpu_time_lower_bound'], bound='> ')
        mem_key = 'cuda_max_allocated_mb' if cuda else 'peak_over_imports_mb'
        memory = _fmt(_ratio(r.get(mem_key), ref.get(mem_key)))
        peak = _fmt(r.get('peak_over_imports_mb'), '.0f')
        if r.get('peak_over_imports_mb') is None and r.get('peak_over_imports_mb_lower_bound'):
            peak = _fmt(r['peak_over_imports_mb_lower_bound'], '.0f', '>= ')
        grid = r.get('grid')
        neck_s = r.get('neck_fwd_bwd_s')
        trainable_share = r.get('neck_share_of_trainable')
        row = [
            _name(r['config']),
            r.get('neck') or 'none',
            str(len(r['tasks'])) if r.get('tasks') else '-',
            f'{grid[0]}x{grid[1]} ({r["n_s"]})' if grid else '-',
            _fmt(r['params'] / 1e6 if r.get('params') else None),
            _fmt(r['trainable_params'] / 1e6 if r.get('trainable_params') else None),
            f'{r["neck_params"] / 1e6:.3f} ({100 * trainable_share:.1f}%)'
            if r.get('neck_params') is not None and trainable_share is not None
            else '-',
            _fmt(r.get('steps_per_s_best'), '.3f')
            if r.get('steps_per_s_best') is not None or not lower
            else f'< {1 / lower:.3f}',
            _fmt(r.get('steps_per_s_median'), '.3f')
            if r.get('steps_per_s_median') is not None or not lower
            else f'< {1 / lower:.3f}',
            step_time,
            paper_time,
            _fmt(r.get('steps_per_cpu_s_median'), '.3f')
            if r.get('steps_per_cpu_s_median') is not None or not cpu_lower
            else f'< {1 / cpu_lower:.3f}',
            cpu_time,
            peak,
            _fmt(r.get('peak_over_built_mb'), '.0f'),
            memory,
            paper_mem,
            f'{neck_s:.3f} ({100 * r["neck_share_of_step"]:.1f}%)' if neck_s is not None else '-',
            ', '.join(k.replace('aten::_scaled_dot_product_', '') for k in r['attention_kernels'])
            if r.get('attention_kernels')
            else '-',
            r.get('note') or ('' if r['config'] != r['reference'] else 'reference'),
        ]
        if cuda:
            row.append(_fmt(r.get('cuda_max_allocated_mb'), '.0f'))
        rows.append(row)
    if markdown:
        return '\n'.join(markdown_table(cols, rows))
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    lines = ['  '.join(c.rjust(w) for c, w in zip(cols, widths))]
    lines.append('-' * len(lines[0]))
    lines += ['  '.join(v.rjust(w) for v, w in zip(row, widths)) for row in rows]
    return '\n'.join(lines)


def summary_lines(results: List[dict]) -> List[str]:
    """One line per model that is not its group's reference: its reference's speed over its own.

    E.g. ``KEM / TaskCrossAttention, n_s 8064: 2.91x the speed (CPU time 3.05x; paper 2.78x)``.
    """
    if any('ratios' not in r for r in results):
        add_ratios(results)
    by_config = {r['config']: r for r in results}
    lines = []
    for r in results:
        if r['config'] == r['reference']:
            continue
        ref = by_config[r['reference']]
        ratios = r['ratios']
        if ratios['step_time'] is not None:
            speed = f'{ratios["step_time"]:.2f}x'
        elif ratios.get('step_time_lower_bound') is not None:
            speed = f'more than {ratios["step_time_lower_bound"]:.2f}x'
        else:
            speed = 'unknown'
        cpu = ratios['cpu_time'] or ratios.get('cpu_time_lower_bound')
        paper, paper_ref = PAPER.get(r.get('neck')), PAPER.get(ref.get('neck'))
        extra = (
            [f'CPU time {"more than " if not ratios["cpu_time"] else ""}{cpu:.2f}x'] if cpu else []
        )
        if paper and paper_ref:
            extra.append(f'paper {paper_ref["steps_per_s"] / paper["steps_per_s"]:.2f}x')
        lines.append(
            f'{ref.get("neck")} ({_name(ref["config"])}) / {r.get("neck")} ({_name(r["config"])}), '
            f'n_s {r.get("n_s", "?")}: {speed} the speed'
            + (f' ({"; ".join(extra)})' if extra else '')
        )
    return lines


def settings_line(settings: ModelCostSettings) -> str:
    """``HxW, batch B, best/median of N steps after W warm-up``: what the numbers are of."""
    size = f'{settings.size[0]}x{settings.size[1]}' if settings.size else "each config's crop"
    budgets = []
    if settings.time_budget_s is not None:
        budgets.append(f'time budget {settings.time_budget_s:g} s per model')
    if settings.memory_budget_mb is not None:
        budgets.append(f'memory budget {settings.memory_budget_mb:g} MiB per model')
    return (
        f'{size}, batch {settings.batch_size}, best/median of {settings.steps} steps after '
        f'{settings.warmup} warm-up' + ''.join(f', {b}' for b in budgets)
    )


def write_report(out: str, report: dict, settings: ModelCostSettings) -> None:
    """Write ``results.json`` (meta, models with their ratios, the paper's numbers) and
    ``results.md`` (the table and the summary lines)."""
    meta, results = report['meta'], report['models']
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'results.json'), 'w') as f:
        json.dump(dict(meta=meta, models=results, paper=PAPER), f, indent=1)
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write(f'# Model cost ({meta["date"]}, {meta["device"]})\n\n')
        f.write(f'{settings_line(settings)}, random weights.\n\n')
        f.write(format_table(results, markdown=True) + '\n')
        summary = summary_lines(results)
        if summary:
            f.write('\n' + '\n'.join(f'- {line}' for line in summary) + '\n')


def _worker_main(argv=None) -> None:
    """``python -m mmkem.analysis.model_cost --worker CONFIG --settings JSON``: print the result."""
    parser = argparse.ArgumentParser(description='Measure one model (run by run_worker).')
    parser.add_argument('--worker', required=True, metavar='CONFIG')
    parser.add_argument('--settings', required=True, help='ModelCostSettings as JSON')
    args = parser.parse_args(argv)
    settings = ModelCostSettings(**json.loads(args.settings))
    try:
        result = measure_model(args.worker, settings, emit=_emit)
    except Exception as exc:  # noqa: BLE001 (only a failed allocation is turned into a row)
        if not is_out_of_memory(exc):
            raise
        _emit('out_of_memory', error=f'{type(exc).__name__}: {exc}'[:500])
        sys.exit(OUT_OF_MEMORY_EXIT)
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == '__main__':
    _worker_main()
