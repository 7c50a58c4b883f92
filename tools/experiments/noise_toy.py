"""The paper's Fig. 1 toy: attention mass that tasks 1 and 2 put on a pure-noise task 3.

Trains 2-layer single-head cross-attention and 2-layer KEM on the toy of
``mmkem/experiments/noise_toy.py`` (see its docstring and docs/experiments.md for the data and
the definitions) for every seed, measures before and after training, prints a table and writes
``results.json``, ``results.md`` and ``noise_share.png`` to ``--out``.

Default run: 3 seeds x 2 models x 400 steps, about 2 minutes on one CPU thread::

    python tools/experiments/noise_toy.py
"""

import argparse
import json
import os
import os.path as osp
import platform
import time
from datetime import datetime, timezone

import torch

from mmkem.experiments import NoiseToyConfig, run_noise_toy

LABELS = dict(cross_attention='cross-attention', kem='KEM')


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


def table_rows(result):
    """(label, layer, init mean, init std, trained mean, trained std) for every reported share."""
    rows = []
    summary = result['summary']
    for model, quantity, label in (
        ('cross_attention', 'noise_share', 'cross-attention, token->token'),
        ('kem', 'noise_share', 'KEM, effective write @ retrieve'),
        ('kem', 'retrieve_noise_share', 'KEM, retrieve (slots)'),
        ('cross_attention', 'other_task_share', 'cross-attention, on the other task'),
        ('kem', 'other_task_share', 'KEM, on the other task (effective)'),
    ):
        stages = summary[model][quantity]
        for layer, (init, trained) in enumerate(zip(stages['init'], stages['trained'])):
            rows.append(
                (label, layer + 1, init['mean'], init['std'], trained['mean'], trained['std'])
            )
    return rows


def format_curve(result, markdown=False):
    """Lines of the noise share (token -> token, tasks 1+2 rows) per layer over training."""
    curves = {model: result['summary'][model]['curve'] for model in LABELS}
    steps = [point['step'] for point in curves['cross_attention']]
    num_layers = len(curves['cross_attention'][0]['noise_share'])
    names = [f'{LABELS[model]} L{layer + 1}' for model in LABELS for layer in range(num_layers)]
    rows = []
    for i, step in enumerate(steps):
        values = [
            curves[model][i]['noise_share'][layer]['mean']
            for model in LABELS
            for layer in range(num_layers)
        ]
        rows.append((step, values))
    if markdown:
        lines = ['| noise share during training: step | ' + ' | '.join(names) + ' |']
        lines.append('|---|' + '---|' * len(names))
        lines += [
            f'| {step} | ' + ' | '.join(f'{v:.3f}' for v in vals) + ' |' for step, vals in rows
        ]
        return lines
    lines = ['noise share during training (mean over seeds)']
    lines.append(f'{"step":>6}' + ''.join(f'{n:>22}' for n in names))
    lines += [f'{step:>6}' + ''.join(f'{v:>22.3f}' for v in vals) for step, vals in rows]
    return lines


def format_table(result, markdown=False):
    rows = table_rows(result)
    n = len(result['config']['seeds'])
    lines = []
    if markdown:
        lines.append(f'| attention mass (mean ± std over {n} seeds) | layer | init | trained |')
        lines.append('|---|---|---|---|')
        for label, layer, im, is_, tm, ts in rows:
            lines.append(f'| {label} | {layer} | {im:.3f} ± {is_:.3f} | {tm:.3f} ± {ts:.3f} |')
    else:
        header = f'{"attention mass of tasks 1+2 rows":<38}{"layer":>6}{"init":>16}{"trained":>16}'
        lines += [header, '-' * len(header)]
        for label, layer, im, is_, tm, ts in rows:
            lines.append(f'{label:<38}{layer:>6}{im:>9.3f} ±{is_:.3f}{tm:>9.3f} ±{ts:.3f}')
    lines.append('')
    lines += format_curve(result, markdown)
    lines.append('')
    lines.append(f'chance (task-3 share of the tokens): {result["chance"]:.3f}')
    for model, label in LABELS.items():
        mse = result['summary'][model]['mse']
        lines.append(
            f'{label} mse of tasks 1+2: init {mse["init"]["mean"]:.3f}, trained '
            f'{mse["trained"]["mean"]:.3f} ± {mse["trained"]["std"]:.3f} '
            '(0.5 = no sharing between tasks 1 and 2)'
        )
    if markdown:
        lines = [line + '  ' if not line.startswith('|') and line else line for line in lines]
    return '\n'.join(lines)


def plot(result, path):
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np

    summary = result['summary']
    bars = [
        ('cross-attention', summary['cross_attention']['noise_share']),
        ('KEM (write @ retrieve)', summary['kem']['noise_share']),
        ('KEM retrieve (slots)', summary['kem']['retrieve_noise_share']),
    ]
    num_layers = len(bars[0][1]['init'])
    fig, axes = plt.subplots(1, num_layers + 1, figsize=(4.5 * (num_layers + 1), 3.8), sharey=True)
    axes = np.atleast_1d(axes)
    width = 0.38
    for layer, ax in enumerate(axes[:num_layers]):
        x = np.arange(len(bars))
        for offset, stage, color in ((-width / 2, 'init', '#bbbbbb'), (width / 2, 'trained', None)):
            means = [b[1][stage][layer]['mean'] for b in bars]
            stds = [b[1][stage][layer]['std'] for b in bars]
            ax.bar(x + offset, means, width, yerr=stds, label=stage, color=color, capsize=3)
        ax.axhline(result['chance'], color='k', ls='--', lw=1, label='chance')
        ax.set_xticks(x)
        ax.set_xticklabels([b[0] for b in bars], rotation=15, fontsize=8)
        ax.set_title(f'layer {layer + 1}')
        ax.grid(True, axis='y', alpha=0.3)
    axes[0].set_ylabel('attention mass on the noise task')
    axes[num_layers - 1].legend(fontsize=8)
    ax = axes[-1]
    for model, style in (('cross_attention', '-'), ('kem', '--')):
        curve = summary[model]['curve']
        steps = [point['step'] for point in curve]
        for layer in range(num_layers):
            means = [point['noise_share'][layer]['mean'] for point in curve]
            ax.plot(steps, means, style, marker='o', ms=3, label=f'{LABELS[model]} L{layer + 1}')
    ax.axhline(result['chance'], color='k', ls='--', lw=1)
    ax.set_xscale('symlog', linthresh=10)
    ax.set_xlim(left=0)
    ax.set_xlabel('training step')
    ax.set_title('token -> noise, during training')
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.suptitle(f'Fig. 1 toy: tasks 1+2 -> task 3 (noise), {len(result["config"]["seeds"])} seeds')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


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
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'results.json'), 'w') as f:
        json.dump(result, f, indent=1)
    with open(osp.join(args.out, 'results.md'), 'w') as f:
        f.write(f'# Fig. 1 toy ({result["meta"]["date"]}, {result["meta"]["machine"]})\n\n')
        f.write(format_table(result, markdown=True) + '\n')
    plot(result, osp.join(args.out, 'noise_share.png'))
    print(f'\nwrote results.json, results.md and noise_share.png to {args.out}')
    return result


if __name__ == '__main__':
    main()
