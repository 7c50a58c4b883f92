"""The report of the Fig. 1 toy (:func:`~mmkem.experiments.noise_toy.run_noise_toy`).

Tables of the noise shares (text and Markdown), the training curve, the bar plot, and the files
the command line ``tools/experiments/noise_toy.py`` writes: ``results.json``, ``results.md`` and
``noise_share.png``.
"""

import json
import os
import os.path as osp

from mmkem.analysis.tables import format_mean_std, markdown_table

__all__ = ['LABELS', 'format_curve', 'format_table', 'plot', 'table_rows', 'write_results']

LABELS = dict(cross_attention='cross-attention', kem='KEM')


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
        cells = [[str(step)] + [f'{v:.3f}' for v in vals] for step, vals in rows]
        return markdown_table(['noise share during training: step', *names], cells)
    lines = ['noise share during training (mean over seeds)']
    lines.append(f'{"step":>6}' + ''.join(f'{n:>22}' for n in names))
    lines += [f'{step:>6}' + ''.join(f'{v:>22.3f}' for v in vals) for step, vals in rows]
    return lines


def format_table(result, markdown=False):
    """The report: shares per layer (init, trained), curve, chance, errors (text or Markdown)."""
    rows = table_rows(result)
    n = len(result['config']['seeds'])
    lines = []
    if markdown:
        header = [f'attention mass (mean ± std over {n} seeds)', 'layer', 'init', 'trained']
        cells = [
            [label, str(layer), format_mean_std(im, is_, 3), format_mean_std(tm, ts, 3)]
            for label, layer, im, is_, tm, ts in rows
        ]
        lines += markdown_table(header, cells)
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
    """Bars of the noise shares per layer (init, trained) and the curve during training."""
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


def write_results(result, out):
    """Write ``results.json``, ``results.md`` (needs ``result['meta']``) and ``noise_share.png``."""
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'results.json'), 'w') as f:
        json.dump(result, f, indent=1)
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write(f'# Fig. 1 toy ({result["meta"]["date"]}, {result["meta"]["machine"]})\n\n')
        f.write(format_table(result, markdown=True) + '\n')
    plot(result, osp.join(out, 'noise_share.png'))
