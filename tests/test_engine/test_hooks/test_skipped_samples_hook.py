"""SkippedSamplesHook lists the samples a training dataset skipped; the config helper adds it."""

from types import SimpleNamespace

import pytest
from mmengine.config import Config
from mmseg.structures import SegDataSample

import mmkem  # noqa: F401  (registers the modules)
from mmkem.engine import SkippedSamplesHook, add_skipped_samples_hook


class _Logger:
    def __init__(self):
        self.lines = []

    def info(self, message):
        self.lines.append(('info', message))

    def warning(self, message):
        self.lines.append(('warning', message))


def _batch(*records):
    samples = [SegDataSample(), SegDataSample()]
    if records:
        samples[1].set_metainfo(dict(skipped_samples=list(records)))
    return dict(inputs=[], data_samples=samples)


def _record(sample_id):
    return dict(
        index=int(sample_id),
        sample_id=sample_id,
        img_path=f'images/{sample_id}.png',
        problem='depth implausible',
        error=f'depth/{sample_id}.npy: values exceed max_depth',
    )


def test_lists_each_skipped_sample_once_and_counts_them(tmp_path):
    runner = SimpleNamespace(work_dir=str(tmp_path), timestamp='20260101_000000', logger=_Logger())
    hook = SkippedSamplesHook()
    hook.after_train_iter(runner, 0, _batch())
    assert not (tmp_path / 'skipped_samples.txt').exists()
    hook.after_train_iter(runner, 1, _batch(_record('0003')))
    hook.after_train_iter(runner, 2, _batch(_record('0003'), _record('0005')))
    lines = (tmp_path / 'skipped_samples.txt').read_text().splitlines()
    assert lines[0].startswith('# run 20260101_000000')
    assert lines[1:] == [
        '0003\timages/0003.png\tdepth implausible\tdepth/0003.npy: values exceed max_depth',
        '0005\timages/0005.png\tdepth implausible\tdepth/0005.npy: values exceed max_depth',
    ]
    hook.after_train(runner)
    ((level, message),) = runner.logger.lines
    assert level == 'warning'
    assert message.startswith('skipped 2 bad sample(s) during training (3 time(s)); listed in ')
    assert message.endswith(str(tmp_path / 'skipped_samples.txt'))


def test_says_when_nothing_was_skipped(tmp_path):
    runner = SimpleNamespace(work_dir=str(tmp_path), timestamp='t', logger=_Logger())
    hook = SkippedSamplesHook()
    hook.after_train_iter(runner, 0, _batch())
    hook.after_train(runner)
    assert runner.logger.lines == [('info', 'skipped 0 bad samples during training')]


def _cfg(**dataset):
    return Config(
        dict(
            train_dataloader=dict(
                dataset=dict(
                    type='RepeatDataset', times=2, dataset=dict(type='NYUDv2Dataset', **dataset)
                )
            ),
            custom_hooks=[dict(type='MultiTaskVisualizationHook')],
        )
    )


def test_add_skipped_samples_hook():
    cfg = _cfg()
    assert add_skipped_samples_hook(cfg) == []  # off by default: nothing added
    assert [h['type'] for h in cfg.custom_hooks] == ['MultiTaskVisualizationHook']
    cfg = _cfg(bad_samples='skip')
    assert len(add_skipped_samples_hook(cfg)) == 1
    add_skipped_samples_hook(cfg)  # added once
    assert [h['type'] for h in cfg.custom_hooks] == [
        'MultiTaskVisualizationHook',
        'SkippedSamplesHook',
    ]
    cfg = _cfg(bad_samples='skip')
    cfg.custom_hooks = [SkippedSamplesHook(filename='mine.txt')]  # a built hook counts too
    add_skipped_samples_hook(cfg)
    assert len(cfg.custom_hooks) == 1
    cfg = _cfg()
    (dataset,) = add_skipped_samples_hook(cfg, skip=True)  # tools/train.py --skip-bad-samples
    assert cfg.train_dataloader.dataset.dataset.bad_samples == 'skip'
    assert 'times' in cfg.train_dataloader.dataset  # the wrapper is left alone
    cfg = Config(dict(train_dataloader=dict(dataset=dict(type='ADE20KDataset'))))
    with pytest.raises(ValueError, match="needs a training dataset of mmkem.*'ADE20KDataset'"):
        add_skipped_samples_hook(cfg, skip=True)
