"""The demo's steps: the data is built once, the comparison table, the trained model run on
packaged photographs, and no package module that looks for the repository checkout (the demo
config's path comes from tools/demo.py)."""

import os.path as osp
from pathlib import Path

import cv2

import mmkem
from mmkem.apis.demo import ensure_demo_data, format_comparison, run_demo
from mmkem.apis.photographs import PHOTOGRAPHS, packaged_photographs
from mmkem.utils.prediction_io import load_predictions

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(REPO, 'configs', 'demo', 'kem_effnet-lite0_nyud-demo.py')


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


def test_run_demo_ends_with_the_trained_model_on_photographs(tmp_path):
    """What `make demo` runs, at the smallest size: train one step, evaluate, then the
    inferencer on the photographs packages ship."""
    data_root = str(tmp_path / 'nyud_demo')
    ensure_demo_data(data_root, num_train=2, num_val=1, size=(32, 48), num_real=0)
    options = {'train_dataloader.batch_size': 2}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options.update({f'{loader}.num_workers': 0, f'{loader}.persistent_workers': False})
    work_dir = str(tmp_path / 'work')
    result = run_demo(DEMO_CONFIG, work_dir, data_root, 1, options, photo_height=40)
    assert 'semseg/mIoU' in result['before'] and 'semseg/mIoU' in result['after']
    inference = result['inference']
    assert inference['out_dir'] == osp.join(work_dir, 'inference')
    photos = packaged_photographs(require_all=True)  # scikit-image is a requirement
    assert sorted(photos) == sorted(PHOTOGRAPHS)
    assert [osp.basename(p) for p in inference['panels']] == [f'{n}.png' for n in photos]
    for name, panel in zip(photos, inference['panels']):
        photo = cv2.imread(osp.join(inference['out_dir'], 'photos', f'{name}.png'))
        assert photo.shape[0] == 40
        assert cv2.imread(panel).shape[0] == 3 * (40 + 24)  # image | picture, per task
        preds = load_predictions(
            osp.join(inference['out_dir'], 'pred'), name, ['semseg', 'depth', 'normals']
        )
        assert preds['depth'].shape == (1,) + photo.shape[:2]
