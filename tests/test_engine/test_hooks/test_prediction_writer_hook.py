"""MultiTaskPredictionWriterHook writes every test sample's predictions (tools/test.py --out)."""

from types import SimpleNamespace

import numpy as np
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import HOOKS
from mmseg.structures import SegDataSample

import mmkem  # noqa: F401  (registers the hook)
from mmkem.utils.prediction_io import load_predictions

init_default_scope('mmseg')


def _sample(i, tasks=('semseg', 'depth')):
    sample = SegDataSample(metainfo=dict(img_path=f'/data/images/{i:04d}.jpg', tasks=list(tasks)))
    sample.pred_sem_seg = PixelData(data=torch.full((1, 4, 5), i, dtype=torch.long))
    sample.pred_depth_map = PixelData(data=torch.full((1, 4, 5), 0.5 + i))
    return sample


def test_hook_writes_every_sample_of_every_batch(tmp_path):
    hook = HOOKS.build(dict(type='MultiTaskPredictionWriterHook', out_dir=str(tmp_path)))
    runner = SimpleNamespace(model=SimpleNamespace(tasks=['semseg', 'depth']))
    hook.before_val_epoch(runner)
    hook.after_val_iter(runner, 0, {}, [_sample(9)])  # not in validation unless asked
    assert hook.written == []
    hook.before_test_epoch(runner)
    for batch in range(3):
        hook.after_test_iter(runner, batch, {}, [_sample(2 * batch), _sample(2 * batch + 1)])
    assert sorted(p.name for p in (tmp_path / 'semseg').iterdir())[:2] == ['0000.png', '0001.png']
    assert len(list((tmp_path / 'depth').iterdir())) == 6 * 2  # .png and .npy
    back = load_predictions(str(tmp_path), '0003', ['semseg', 'depth'])
    np.testing.assert_array_equal(back['semseg'], np.full((1, 4, 5), 3))
    np.testing.assert_array_equal(back['depth'], np.full((1, 4, 5), 3.5, np.float32))


def test_a_plain_mmseg_model_writes_the_predictions_it_has(tmp_path):
    hook = HOOKS.build(dict(type='MultiTaskPredictionWriterHook', out_dir=str(tmp_path)))
    runner = SimpleNamespace(model=SimpleNamespace())  # an EncoderDecoder: no tasks
    sample = SegDataSample(metainfo=dict(img_path='/x/ade_1.jpg'))
    sample.pred_sem_seg = PixelData(data=torch.ones(1, 3, 3, dtype=torch.long))
    hook.before_test_epoch(runner)
    hook.after_test_iter(runner, 0, {}, [sample])
    assert [p.name for p in tmp_path.iterdir()] == ['semseg']
