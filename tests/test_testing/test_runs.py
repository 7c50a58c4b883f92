"""The run helpers: a shrunk config, the text of a tiny config, a command in a fresh process."""

import sys

from mmengine.config import Config

from mmkem.testing import run_command, shrink_train_config, tiny_train_config


def _base(tmp_path):
    base = tmp_path / 'base.py'
    base.write_text(
        'loader = dict(batch_size=8, num_workers=4, persistent_workers=True,\n'
        "              dataset=dict(type='D', data_root='data/x', pipeline=[]))\n"
        'train_dataloader = loader\n'
        'val_dataloader = loader\n'
        'test_dataloader = loader\n'
        "train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000, val_interval=100)\n"
        "default_hooks = dict(logger=dict(type='LoggerHook', interval=50),\n"
        "                     checkpoint=dict(type='CheckpointHook', interval=100))\n"
        "param_scheduler = [dict(type='LinearLR', end=10)]\n"
        "custom_hooks = [dict(type='EMAHook')]\n"
    )
    return str(base)


def test_shrink_train_config(tmp_path):
    cfg = Config.fromfile(_base(tmp_path))
    out = shrink_train_config(cfg, '/tiny', '/work', max_iters=3, batch_size=2)
    assert out is cfg and cfg.work_dir == '/work'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.data_root == '/tiny'
        assert cfg[loader].num_workers == 0 and cfg[loader].persistent_workers is False
    assert cfg.train_dataloader.batch_size == 2 and cfg.val_dataloader.batch_size == 8
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=3, val_interval=3)
    assert cfg.default_hooks.checkpoint.interval == 3
    assert cfg.default_hooks.logger.interval == 1
    assert cfg.param_scheduler == [dict(type='LinearLR', end=10)]  # left as it is


def test_tiny_train_config_parses_to_what_it_says(tmp_path):
    pipeline = [dict(type='LoadImageFromFile'), dict(type='Pack', keys=('a', 'b'))]
    text = tiny_train_config(
        _base(tmp_path),
        '/tiny',
        4,
        pipeline,
        dict(checkpoint=dict(interval=2, save_best=None)),
        custom_hooks=[dict(type='KillHook')],
        extra="tasks = ['semseg']\nmodel = dict(tasks=tasks, iters=max_iters)\n",
    )
    path = tmp_path / 'tiny.py'
    path.write_text(text)
    cfg = Config.fromfile(str(path))
    assert cfg.data_root == '/tiny' and cfg.max_iters == 4
    train = cfg.train_dataloader
    assert (train.batch_size, train.num_workers, train.persistent_workers) == (2, 0, False)
    assert train.dataset.data_root == '/tiny' and train.dataset.type == 'D'
    assert train.dataset.pipeline == [
        dict(type='LoadImageFromFile'),
        dict(type='Pack', keys=('a', 'b')),
    ]
    assert cfg.val_dataloader.batch_size == 1 and cfg.val_dataloader.dataset.pipeline == []
    assert cfg.test_dataloader == cfg.val_dataloader
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=4, val_interval=4)
    assert cfg.param_scheduler == [dict(type='PolyLR', power=0.9, begin=0, end=4, by_epoch=False)]
    assert cfg.default_hooks.checkpoint == dict(type='CheckpointHook', interval=2, save_best=None)
    assert cfg.default_hooks.logger.interval == 50  # the base's
    assert cfg.custom_hooks == [dict(type='KillHook')]
    assert cfg.model == dict(tasks=['semseg'], iters=4)
    end = tiny_train_config(_base(tmp_path), '/tiny', 4, pipeline, {}, scheduler_end=10)
    assert 'end=10, by_epoch=False' in end


def test_run_command_drops_the_named_variables(tmp_path, monkeypatch):
    monkeypatch.setenv('PYTHONPATH', '/nowhere')
    monkeypatch.setenv('MMKEM_TEST_KEEP', 'kept')
    code = (
        'import os; print(os.environ.get("PYTHONPATH"), os.environ.get("MMKEM_TEST_KEEP"), '
        'os.environ["OMP_NUM_THREADS"], os.environ.get("EXTRA"), os.getcwd())'
    )
    res = run_command([sys.executable, '-c', code], str(tmp_path), dict(EXTRA='x'))
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ['None', 'kept', '1', 'x', str(tmp_path)]
    res = run_command(
        [sys.executable, '-c', code], str(tmp_path), drop_env=('PYTHONPATH', 'MMKEM_TEST_KEEP')
    )
    assert res.stdout.split()[:2] == ['None', 'None']
