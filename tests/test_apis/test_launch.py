"""check_data_first: tools/train.py --check-data passes clean data on and stops on bad data."""

import os.path as osp
import shutil

import pytest
from mmengine.config import Config

import mmkem  # noqa: F401  (registers the modules)
from mmkem.apis import LaunchError, check_data_first
from mmkem.engine import fill_task_config
from mmkem.testing import plant_problems, write_tiny_nyud

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _config(root):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo', 'kem_effnet-lite0_nyud-demo.py'))
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = str(root)
    cfg.train_dataloader.num_workers = 0
    return fill_task_config(cfg)


def test_check_data_first(tmp_path, capsys, monkeypatch):
    logged = []
    monkeypatch.setattr('mmkem.apis.launch.print_log', lambda msg, **kw: logged.append(msg))
    write_tiny_nyud(str(tmp_path / 'nyud'), num_train=2, num_val=1, size=(24, 32), num_real=0)
    check_data_first(_config(tmp_path / 'nyud'))
    assert logged == ['dataset check: 3 samples (train 2, val 1), no problems']

    shutil.copytree(tmp_path / 'nyud', tmp_path / 'bad')
    ((_, path, _),) = plant_problems(str(tmp_path / 'bad'), ['label_out_of_range'])
    with pytest.raises(
        LaunchError, match=r'1 problem\(s\) in 1 file\(s\):\n  label out of range: 1'
    ):
        check_data_first(_config(tmp_path / 'bad'), workers=0)
    assert (
        f'[label out of range] {path}: label ids [41] are out of range' in capsys.readouterr().err
    )
