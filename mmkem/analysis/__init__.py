"""Cost and result analysis behind ``tools/analysis/``: timing, tables, sweeps, model costs.

The shared parts are exported here: the one timing loop (:mod:`.timing`), the result tables
(:mod:`.tables`), the synthetic batch (:mod:`.batches`), the machine description
(:mod:`.machine`) and the sweep runner (:mod:`.sweep_grid`, :mod:`.sweep`). The measurements of
one tool each are imported by their module: :mod:`.model_cost` (also the worker process:
``python -m mmkem.analysis.model_cost``), :mod:`.neck_cost`, :mod:`.neck_benchmark`,
:mod:`.rep_mtl_overhead`.
"""

from .batches import synthetic_batch
from .machine import cpu_name, device_name
from .sweep import (
    aggregate,
    check_finished_runs,
    format_markdown,
    prepare_sweep,
    read_final_metrics,
    run_sweep,
    train_command,
)
from .sweep_grid import GridAxis, build_runs, check_keys, parse_grid, parse_seeds, parse_value
from .tables import format_mean_std, markdown_table, mean_std
from .timing import Timings, synchronize, time_call, time_forward_backward, time_interleaved

__all__ = [
    'GridAxis',
    'Timings',
    'aggregate',
    'build_runs',
    'check_finished_runs',
    'check_keys',
    'cpu_name',
    'device_name',
    'format_markdown',
    'format_mean_std',
    'markdown_table',
    'mean_std',
    'parse_grid',
    'parse_seeds',
    'parse_value',
    'prepare_sweep',
    'read_final_metrics',
    'run_sweep',
    'synchronize',
    'synthetic_batch',
    'time_call',
    'time_forward_backward',
    'time_interleaved',
    'train_command',
]
