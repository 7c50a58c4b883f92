"""mmkem.analysis.sweep_grid and mmkem.analysis.sweep: grid parsing, run naming, aggregation,
resuming and clear errors (real sweeps of tools/train.py: tests/test_tools/test_sweep_tool.py)."""

import json
import math
import os.path as osp
import sys
from functools import partial

import pytest

from mmkem.analysis.sweep import (
    aggregate,
    check_finished_runs,
    format_markdown,
    prepare_sweep,
    read_final_metrics,
    train_command,
)
from mmkem.analysis.sweep_grid import build_runs, check_keys, parse_grid, parse_seeds

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(REPO, 'configs', 'demo', 'kem_effnet-lite0_nyud-demo.py')
TRAIN = osp.join(REPO, 'tools', 'train.py')


def test_parse_grid_values_as_dict_action_does():
    axes = parse_grid(
        [
            'model.interaction.num_slots=5,10,20',
            'a.b=0.5,true,None,abc',
            'a.c=(1,2),[3,4]',
            'a.d=[1,2]',
        ]
    )
    assert [a.key for a in axes] == ['model.interaction.num_slots', 'a.b', 'a.c', 'a.d']
    assert axes[0].values == [5, 10, 20] and all(type(v) is int for v in axes[0].values)
    assert axes[1].values == [0.5, True, None, 'abc']
    assert axes[2].values == [(1, 2), [3, 4]]
    assert axes[3].values == [[1, 2]]  # brackets keep their commas: one list value
    assert axes[2].raw == ['(1,2)', '[3,4]']


def test_cartesian_product_and_run_names():
    axes = parse_grid(['model.interaction.num_slots=5,20', 'model.interaction.topk=1,3'])
    runs = build_runs(axes, [0, 1])
    assert len(runs) == 2 * 2 * 2
    assert [r['name'] for r in runs[:3]] == [
        'num_slots=5,topk=1,seed=0',
        'num_slots=5,topk=1,seed=1',
        'num_slots=5,topk=3,seed=0',
    ]
    assert runs[-1]['name'] == 'num_slots=20,topk=3,seed=1'
    assert runs[-1]['options'] == [
        'model.interaction.num_slots=20',
        'model.interaction.topk=3',
        'randomness.seed=1',
    ]
    assert runs[-1]['point'] == {'num_slots': '20', 'topk': '3'}
    # Keys that end alike keep enough of their path to differ; unsafe characters are replaced.
    axes = parse_grid(['a.x.w=1', 'b.x.w=(1,2)'])
    assert build_runs(axes, [3])[0]['name'] == 'a.x.w=1,b.x.w=_1_2_,seed=3'


def test_bad_grids_say_what_is_wrong():
    with pytest.raises(ValueError, match=r"'model\.interaction\.topk' has no \"=\""):
        parse_grid(['model.interaction.topk'])
    with pytest.raises(ValueError, match=r"'model\.interaction\.topk' has an empty value"):
        parse_grid(['model.interaction.topk=1,,3'])
    with pytest.raises(ValueError, match=r"'model\.interaction\.topk' has an empty value"):
        parse_grid(['model.interaction.topk='])
    with pytest.raises(ValueError, match='empty key'):
        parse_grid(['=1,2'])
    with pytest.raises(ValueError, match='twice'):
        parse_grid(['a=1', 'a=2'])
    with pytest.raises(ValueError, match='--seeds'):
        parse_grid(['randomness.seed=1,2'])
    with pytest.raises(ValueError, match="integers, got '1.5'"):
        parse_seeds(['0', '1.5'])
    with pytest.raises(ValueError, match='same run directory'):
        build_runs(parse_grid(['a=x/y,x_y']), [0])


def test_unknown_config_key_is_named_before_anything_runs(tmp_path):
    with pytest.raises(
        ValueError, match=r"'model\.interaction\.num_slot'.*model\.interaction has no 'num_slot'"
    ):
        check_keys(DEMO_CONFIG, parse_grid(['model.interaction.num_slot=5,10']))
    with pytest.raises(ValueError, match=r"param_scheduler has no '3'"):
        check_keys(DEMO_CONFIG, parse_grid(['param_scheduler.3.end=5']))
    check_keys(DEMO_CONFIG, parse_grid(['param_scheduler.0.end=5,10']))
    # The whole command line is checked before anything is created or run (the tool's exit code
    # 2 is tested in tests/test_tools/test_sweep_tool.py).
    work_dir = tmp_path / 'w'
    with pytest.raises(ValueError, match=r"'model\.nek\.topk'"):
        prepare_sweep(
            DEMO_CONFIG, ['model.nek.topk=1,2'], None, [], str(work_dir), train_script=TRAIN
        )
    assert not work_dir.exists()


def test_resuming_with_other_common_options_is_refused(tmp_path):
    runs = build_runs(parse_grid(['model.interaction.topk=1']), [0])
    run_dir = tmp_path / runs[0]['name']
    run_dir.mkdir()
    cmd = train_command(
        'c.py', str(run_dir), runs[0]['options'], ['train_cfg.max_iters=5'], train_script=TRAIN
    )
    assert cmd[:3] == [sys.executable, TRAIN, 'c.py']
    # The interpreter and the checkout of the train script may differ; the rest may not.
    record = dict(status='ok', command=' '.join(['/other/python', '/other/train.py'] + cmd[2:]))
    (run_dir / 'sweep_run.json').write_text(json.dumps(record))
    check = partial(check_finished_runs, train_script=TRAIN)
    check(runs, 'c.py', str(tmp_path), ['train_cfg.max_iters=5'])
    with pytest.raises(ValueError, match='train_cfg.max_iters=6'):
        check(runs, 'c.py', str(tmp_path), ['train_cfg.max_iters=6'])
    # A failed run is trained again whatever its command was.
    (run_dir / 'sweep_run.json').write_text(json.dumps(dict(record, status='failed (exit 1)')))
    check(runs, 'c.py', str(tmp_path), ['train_cfg.max_iters=6'])


def test_aggregate_mean_and_sample_std_over_seeds():
    def rec(point, seed, status='ok', **metrics):
        return dict(point=point, seed=seed, status=status, log=f'/w/{seed}.log', metrics=metrics)

    records = [
        rec({'topk': '1'}, 0, **{'semseg/mIoU': 40.0, 'depth/rmse': 0.5}),
        rec({'topk': '1'}, 1, **{'semseg/mIoU': 44.0, 'depth/rmse': 0.7}),
        rec({'topk': '1'}, 2, **{'semseg/mIoU': 45.0, 'depth/rmse': 0.6}),
        rec({'topk': '3'}, 0, **{'semseg/mIoU': 50.0, 'depth/rmse': 0.4}),
        rec({'topk': '3'}, 1, status='failed (exit 1)'),
    ]
    names, rows = aggregate(records)
    assert names == ['semseg/mIoU', 'depth/rmse']
    first, second = rows
    assert first['n'] == 3 and first['status'] == 'ok'
    assert first['mean']['semseg/mIoU'] == pytest.approx(43.0)
    # sqrt(((40-43)^2 + (44-43)^2 + (45-43)^2) / (3 - 1)) = sqrt(7)
    assert first['std']['semseg/mIoU'] == pytest.approx(math.sqrt(7.0))
    assert first['std']['depth/rmse'] == pytest.approx(0.1)
    assert second['n'] == 1 and second['mean']['semseg/mIoU'] == 50.0
    assert math.isnan(second['std']['semseg/mIoU'])
    assert second['status'] == 'seed 1 failed (exit 1): /w/1.log'
    table = format_markdown(names, rows).splitlines()
    assert table[0] == '| topk | seeds | semseg/mIoU | depth/rmse | status |'
    assert table[2] == '| 1 | 3 | 43.0000 ± 2.6458 | 0.6000 ± 0.1000 | ok |'
    assert table[3].startswith('| 3 | 1 | 50.0000 | 0.4000 | seed 1 failed')


def test_reads_the_last_validation_line_of_the_newest_log(tmp_path):
    for stamp, miou in (('20261123_100000', 1.0), ('20261123_110000', 2.0)):
        vis = tmp_path / stamp / 'vis_data'
        vis.mkdir(parents=True)
        (vis / f'{stamp}.json').write_text(
            '{"lr": 0.1, "loss": 1.0, "iter": 2, "step": 2}\n'
            f'{{"semseg/mIoU": {miou}, "delta_m": -3.5, "data_time": 0.1, "time": 0.2}}\n'
            '{"lr": 0.0, "loss": 0.5, "iter": 3, "step": 3}\n'
        )
    assert read_final_metrics(str(tmp_path)) == {'semseg/mIoU': 2.0, 'delta_m': -3.5}
    # The logs of an earlier attempt of the same run can be left out.
    earlier = read_final_metrics(str(tmp_path), ignore=['20261123_110000'])
    assert earlier == {'semseg/mIoU': 1.0, 'delta_m': -3.5}
    assert read_final_metrics(str(tmp_path / '20261123_100000')) == {}
