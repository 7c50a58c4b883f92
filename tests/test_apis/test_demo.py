"""The demo's steps: the data is built once, the comparison table, and no package module that
looks for the repository checkout (the demo config's path comes from tools/demo.py)."""

import os.path as osp
from pathlib import Path

import mmkem
from mmkem.apis.demo import ensure_demo_data, format_comparison


def test_ensure_demo_data_builds_only_when_missing(tmp_path):
    root = str(tmp_path / 'nyud_demo')
    tiny = dict(num_train=2, num_val=1, size=(32, 48), num_real=0)
    assert ensure_demo_data(root, **tiny) is True
    assert osp.isfile(osp.join(root, 'gt_sets', 'train.txt'))
    assert ensure_demo_data(root, **tiny) is False


def test_format_comparison_says_which_direction_counts():
    table = format_comparison(
        {'semseg/mIoU': 1.0, 'depth/rmse': 3.0, 'only_before': 0.0},
        {'semseg/mIoU': 50.0, 'depth/rmse': 4.0},
        lower_is_better=['/rmse'],
    ).splitlines()
    assert table[0].split() == ['metric', 'untrained', 'trained', 'better?']
    assert table[2].split() == [
        'semseg/mIoU',
        '1.0000',
        '50.0000',
        'yes',
        '(higher',
        'is',
        'better)',
    ]
    assert table[3].split() == ['depth/rmse', '3.0000', '4.0000', 'no', '(lower', 'is', 'better)']
    assert len(table) == 4
    # by default the directions are the task kinds'
    default = format_comparison(
        {'depth/abs_rel': 0.5, 'normals/11.25': 1.0}, {'depth/abs_rel': 0.4, 'normals/11.25': 2.0}
    )
    assert default.splitlines()[2].split()[3:5] == ['yes', '(lower']
    assert default.splitlines()[3].split()[3:5] == ['yes', '(higher']


def test_no_package_module_reaches_into_the_checkout():
    package = Path(mmkem.__file__).parent
    offenders = [
        str(path.relative_to(package))
        for path in sorted(package.rglob('*.py'))
        if '__file__' in path.read_text()
    ]
    assert offenders == [], (
        'package modules must not locate the repository checkout from __file__; take the path '
        'from the tool (tools/*.py) or the working directory'
    )
