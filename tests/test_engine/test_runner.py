"""A config names its tasks once: fill_task_config and MultiTaskRunner."""

import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmkem  # noqa: F401
from mmkem.apis import build_runner
from mmkem.engine import MultiTaskRunner, fill_task_config
from mmkem.testing import write_tiny_nyud

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'configs', 'demo', 'kem_effnet-lite0_nyud-demo.py')

init_default_scope('mmseg')


def _write(path, text):
    path.write_text(text)
    return str(path)


def test_mmengine_alone_does_not_carry_a_child_variable_into_the_base(tmp_path):
    """Why fill_task_config exists: a base file's variables are substituted when it is parsed."""
    _write(tmp_path / 'base.py', "tasks = ['semseg', 'depth']\nmodel = dict(tasks=tasks)\n")
    child = _write(tmp_path / 'child.py', "_base_ = ['base.py']\ntasks = ['semseg']\n")
    cfg = Config.fromfile(child)
    assert cfg.tasks == ['semseg'] and cfg.model.tasks == ['semseg', 'depth']


def test_child_of_the_demo_trains_and_evaluates_exactly_its_tasks(tmp_path):
    data_root = str(tmp_path / 'nyud')
    write_tiny_nyud(data_root, num_train=2, num_val=2, size=(64, 80), seed=0, num_real=1)
    child = _write(tmp_path / 'two_tasks.py', f"_base_ = [{DEMO!r}]\ntasks = ['semseg', 'depth']\n")
    cfg = Config.fromfile(child)
    cfg.work_dir = str(tmp_path / 'work')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    cfg.train_dataloader.batch_size = 2
    cfg.train_dataloader.dataset.pipeline[2].scale = (80, 64)
    cfg.train_dataloader.dataset.pipeline[3].crop_size = (64, 64)
    cfg.train_cfg.max_iters = 1
    cfg.train_cfg.val_interval = 1
    cfg.param_scheduler[0].end = 1
    cfg.default_hooks.checkpoint.interval = 1
    cfg.custom_hooks = []
    cfg = fill_task_config(cfg)  # what build_runner does; here to look at the config
    runner = build_runner(cfg)
    assert isinstance(runner, MultiTaskRunner)
    model = runner.model
    assert model.tasks == ['semseg', 'depth'] and sorted(model.heads) == ['depth', 'semseg']
    assert model.interaction.num_tasks == 2
    assert cfg.train_dataloader.dataset.tasks == cfg.val_evaluator.tasks == ['semseg', 'depth']
    runner.train()
    metrics = runner.val()
    assert {k.split('/')[0] for k in metrics} == {'semseg', 'depth'}


def test_fill_task_config_fills_prunes_and_is_idempotent():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'kem_swin_pascal.py'))
    cfg.tasks = ['semseg', 'sal']
    fill_task_config(cfg)
    assert cfg.model.tasks == ['semseg', 'sal']
    assert cfg.model.num_classes == dict(semseg=21)  # human_parts' classes left out
    assert cfg.train_dataloader.dataset.tasks == ['semseg', 'sal']
    assert cfg.val_evaluator.tasks == ['semseg', 'sal']
    # task-keyed facts keep their entries for these tasks
    assert cfg.val_evaluator.references == dict(semseg=71.17, sal=66.71)
    assert cfg.model.loss_weighting.weights == dict(semseg=1.0, sal=30.0)
    before = cfg.pretty_text
    fill_task_config(cfg)
    assert cfg.pretty_text == before


def test_fill_task_config_errors_name_the_key():
    cfg = Config.fromfile(DEMO)
    cfg.model.tasks = ['semseg']
    with pytest.raises(ValueError, match=r"model\.tasks=\['semseg'\] differs from the config"):
        fill_task_config(cfg)
    cfg = Config.fromfile(DEMO)
    cfg.val_evaluator.references = dict(semseg=1.0, disparity=2.0)
    with pytest.raises(KeyError, match="unknown task 'disparity'"):
        fill_task_config(cfg)
    cfg = Config.fromfile(DEMO)
    cfg.tasks = 'semseg'
    with pytest.raises(ValueError, match="the config's tasks must be a non-empty sequence"):
        fill_task_config(cfg)


def test_a_config_without_tasks_is_left_alone():
    cfg = Config(dict(model=dict(type='EncoderDecoder'), num_classes=3))
    assert fill_task_config(cfg).model == dict(type='EncoderDecoder')
