"""Training speed and peak memory of whole multi-task models: KEM, sKEM and cross-attention.

The paper's Table 6 (steps per second and GPU memory of the three models), measured in one run,
by default at three resolutions of the task interaction: the paper's stride-16 token grid and the
stride-8 and stride-4 grids of the high-resolution configs (docs/models.md), NYUD-v2 with
semseg + depth.
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
  show how much of the whole model the compared module is; and the attention kernel
  ``scaled_dot_product_attention`` ran (cross-attention runs on the fastest exact one: flash on
  CPU and on CUDA where it applies).
- budgets: ``--time-budget S`` stops a model's worker after S seconds and ``--memory-budget MB``
  makes its allocations beyond MB fail; such a model's row says so, with bounds (``>``, ``<``)
  from the step it was stopped in, instead of a gap.

The ratios of a model are to the first model with the same tasks and token grid (the reference
of its group: KEM in the default list). Prints the table and one line per ratio next to the
paper's, writes ``results.json`` and ``results.md`` to ``--out``.

Example (only the paper's stride-16 models; a few minutes on a 2-core CPU)::

    python tools/analysis/model_cost.py --configs configs/kem/kem_swin-t_40k_nyud-448x576.py \
        configs/skem/skem_swin-t_40k_nyud-448x576.py configs/baselines/ca_swin-t_40k_nyud-448x576.py
"""

import argparse
import os.path as osp
import sys

# Find mmkem from a source checkout without PYTHONPATH or `pip install -e .`.
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mmkem.analysis.model_cost import (  # noqa: E402
    ModelCostSettings,
    format_table,
    run_model_cost,
    settings_line,
    summary_lines,
    write_report,
)

DEFAULT_CONFIGS = [
    'configs/kem/kem_swin-t_40k_nyud-448x576.py',
    'configs/skem/skem_swin-t_40k_nyud-448x576.py',
    'configs/baselines/ca_swin-t_40k_nyud-448x576.py',
    'configs/kem/kem_swin-t-s8_40k_nyud-448x576.py',
    'configs/skem/skem_swin-t-s8_40k_nyud-448x576.py',
    'configs/baselines/ca_swin-t-s8_40k_nyud-448x576.py',
    'configs/kem/kem_swin-t-s4_40k_nyud-448x576.py',
    'configs/skem/skem_swin-t-s4_40k_nyud-448x576.py',
    'configs/baselines/ca_swin-t-s4_40k_nyud-448x576.py',
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--configs', nargs='+', default=DEFAULT_CONFIGS,
        help='model configs; the first of each group (same tasks and token grid) is the '
        'reference of its ratios (default: KEM, sKEM, CA on NYUD-v2 at strides 16, 8 and 4)',
    )  # fmt: skip
    parser.add_argument(
        '--size', type=int, nargs=2, default=None, metavar=('H', 'W'),
        help="input size (default: each config's crop_size, 448 576 for NYUD-v2)",
    )  # fmt: skip
    parser.add_argument('--batch-size', type=int, default=2, help='images per step (default 2)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed steps (default 1)')
    parser.add_argument('--steps', type=int, default=3, help='timed steps (default 3)')
    parser.add_argument('--threads', type=int, default=1, help='torch CPU threads (default 1)')
    parser.add_argument(
        '--neck-repeats', type=int, default=5,
        help="timed runs of the neck's own forward+backward, best kept (default 5)",
    )  # fmt: skip
    parser.add_argument(
        '--time-budget', type=float, default=None, metavar='S',
        help='seconds one model may take (build, steps, neck); a model over it is stopped and '
        'its row says so (default: no limit)',
    )  # fmt: skip
    parser.add_argument(
        '--memory-budget', type=float, default=None, metavar='MB',
        help='MiB one model may allocate beyond its imports; an allocation over it fails and '
        'the row says so (default: no limit but the machine\'s)',
    )  # fmt: skip
    parser.add_argument('--device', default=None, help="'cpu' or 'cuda' (default: cuda if any)")
    parser.add_argument('--out', default='work_dirs/model_cost')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.device is None:
        import torch

        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    settings = ModelCostSettings(
        size=args.size, batch_size=args.batch_size, warmup=args.warmup, steps=args.steps,
        threads=args.threads, neck_repeats=args.neck_repeats, device=args.device,
        time_budget_s=args.time_budget, memory_budget_mb=args.memory_budget,
    )  # fmt: skip
    command = ' '.join(['python', 'tools/analysis/model_cost.py'] + (argv or sys.argv[1:]))
    report = run_model_cost(
        args.configs, settings, command, root=REPO, log=lambda line: print(line, flush=True)
    )
    print(
        f'\n{settings_line(settings)}, {args.device} ({report["meta"]["device"]}), random weights'
    )
    print(format_table(report['models']))
    print(
        'ratios: this model / the first of its group (same tasks and n_s; step time: median '
        'seconds per step; memory: peak over imports)'
    )
    for line in summary_lines(report['models']):
        print(line)
    write_report(args.out, report, settings)
    print(f'wrote results.json and results.md to {args.out}')
    return report


if __name__ == '__main__':
    main()
