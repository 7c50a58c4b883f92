"""The paper's Fig. 1 toy: attention mass that tasks 1 and 2 put on a pure-noise task 3.

Trains 2-layer single-head cross-attention and 2-layer KEM on the toy of
``mmkem/experiments/noise_toy.py`` (see its docstring and docs/experiments.md for the data and
the definitions) for every seed, measures before and after training, prints a table and writes
``results.json``, ``results.md`` and ``noise_share.png`` to ``--out``.

Default run: 3 seeds x 2 models x 400 steps, about 2 minutes on one CPU thread::

    python tools/experiments/noise_toy.py
"""

import argparse
import os
import os.path as osp
import platform
import sys
import time
from datetime import datetime, timezone

# Find mmkem from a source checkout without PYTHONPATH or `pip install -e .`.
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402

from mmkem.experiments import NoiseToyConfig, run_noise_toy  # noqa: E402
from mmkem.experiments.noise_toy_report import format_table, write_results  # noqa: E402


def parse_args(argv=None):
    defaults = NoiseToyConfig()
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=defaults.seeds)
    parser.add_argument('--steps', type=int, default=defaults.steps, help='training steps')
    parser.add_argument('--batch-size', type=int, default=defaults.batch_size)
    parser.add_argument('--lr', type=float, default=defaults.lr)
    parser.add_argument('--tokens-per-task', type=int, default=defaults.tokens_per_task)
    parser.add_argument('--dims', type=int, default=defaults.dims)
    parser.add_argument('--num-slots', type=int, default=defaults.num_slots, help="KEM's L")
    parser.add_argument('--topk', type=int, default=defaults.topk, help="KEM's k")
    parser.add_argument('--eval-size', type=int, default=defaults.eval_size)
    parser.add_argument('--mean-scale', type=float, default=defaults.mean_scale)
    parser.add_argument('--signal-scale', type=float, default=defaults.signal_scale)
    parser.add_argument('--noise-scale', type=float, default=defaults.noise_scale)
    parser.add_argument(
        '--curve-steps', type=int, nargs='*', default=defaults.curve_steps,
        help='also measure after these steps (the training curve)',
    )  # fmt: skip
    parser.add_argument('--threads', type=int, default=1, help='torch CPU threads (default 1)')
    parser.add_argument('--out', default='work_dirs/noise_toy')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = NoiseToyConfig(
        tokens_per_task=args.tokens_per_task,
        dims=args.dims,
        num_slots=args.num_slots,
        topk=args.topk,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        eval_size=args.eval_size,
        mean_scale=args.mean_scale,
        signal_scale=args.signal_scale,
        noise_scale=args.noise_scale,
        seeds=list(args.seeds),
        curve_steps=list(args.curve_steps),
    )
    start = time.perf_counter()
    result = run_noise_toy(cfg, log=lambda line: print(line, flush=True))
    result['meta'] = dict(
        date=datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        machine=f'{platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads',
        torch=torch.__version__,
        wall_s=round(time.perf_counter() - start, 1),
        args=vars(args),
    )
    print()
    print(format_table(result))
    write_results(result, args.out)
    print(f'\nwrote results.json, results.md and noise_share.png to {args.out}')
    return result


if __name__ == '__main__':
    main()
