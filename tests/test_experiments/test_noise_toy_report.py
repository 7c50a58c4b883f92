"""mmkem.experiments.noise_toy_report: the tables of a one-seed run and the three files."""

import json

from mmkem.experiments import NoiseToyConfig, run_noise_toy
from mmkem.experiments.noise_toy_report import format_table, table_rows, write_results


def tiny_result():
    cfg = NoiseToyConfig(
        tokens_per_task=4, dims=8, latent_dims=2, num_slots=4, topk=2, steps=2, batch_size=4,
        eval_size=8, seeds=[0], curve_steps=[1],
    )  # fmt: skip
    return run_noise_toy(cfg)


def test_tables_of_one_seed_show_std_zero(tmp_path):
    result = tiny_result()
    rows = table_rows(result)
    # 5 quantities x 2 layers; one seed: the JSON and the table hold std 0, never NaN
    assert len(rows) == 10 and all(row[3] == 0.0 and row[5] == 0.0 for row in rows)
    markdown = format_table(result, markdown=True).splitlines()
    assert markdown[0] == '| attention mass (mean ± std over 1 seeds) | layer | init | trained |'
    assert markdown[1] == '|---|---|---|---|'
    label, layer, init, _, trained, _ = rows[0]
    assert markdown[2] == f'| {label} | {layer} | {init:.3f} ± 0.000 | {trained:.3f} ± 0.000 |'
    curve = [line for line in markdown if line.startswith('| noise share during training')]
    assert curve == [
        '| noise share during training: step | cross-attention L1 | cross-attention L2 | KEM L1 '
        '| KEM L2 |'
    ]
    assert 'chance (task-3 share of the tokens): 0.333  ' in markdown  # Markdown line break
    text = format_table(result)
    assert text.splitlines()[0].startswith('attention mass of tasks 1+2 rows')
    assert 'KEM mse of tasks 1+2: init' in text

    result['meta'] = dict(date='2026-01-01 00:00 UTC', machine='test')
    write_results(result, str(tmp_path / 'out'))
    for name in ('results.json', 'results.md', 'noise_share.png'):
        assert (tmp_path / 'out' / name).stat().st_size > 0
    saved = json.loads((tmp_path / 'out' / 'results.json').read_text())
    assert saved['summary'] == json.loads(json.dumps(result['summary']))
    md = (tmp_path / 'out' / 'results.md').read_text()
    assert md.startswith('# Fig. 1 toy (2026-01-01 00:00 UTC, test)\n\n| attention mass')
