"""MultiTaskInferencer: inputs of every form, per-task predictions, files that decode back to
them, pictures, and a clear error for each bad input."""

import os.path as osp

import cv2
import numpy as np
import pytest
import torch

import mmkem  # noqa: F401
from mmkem.apis import MultiTaskInferencer
from mmkem.engine import CheckpointMismatchError
from mmkem.testing import save_model_checkpoint, write_tiny_nyud
from mmkem.utils.prediction_io import load_predictions

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(REPO, 'configs', 'demo', 'kem_effnet-lite0_nyud-demo.py')
TASKS = ['semseg', 'depth', 'normals']


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('inferencer')
    write_tiny_nyud(str(root / 'nyud'), num_train=1, num_val=3, size=(48, 64), seed=0, num_real=1)
    ckpt = save_model_checkpoint(DEMO_CONFIG, str(root / 'model.pth'))
    inferencer = MultiTaskInferencer(DEMO_CONFIG, ckpt, device='cpu', show_progress=False)
    return root, ckpt, inferencer


def _images(root):
    return sorted(str(p) for p in (root / 'nyud' / 'images').iterdir())


def test_predictions_per_task_and_files_that_decode_back(setup, tmp_path):
    root, _, inferencer = setup
    images = _images(root)
    out = tmp_path / 'out'
    result = inferencer(str(root / 'nyud' / 'images'), out_dir=str(out), batch_size=2)
    preds = result['predictions']
    assert len(preds) == len(images) == len(result['visualization'])
    for path, pred in zip(images, preds):
        assert sorted(pred) == sorted(TASKS)
        assert pred['semseg'].shape == (48, 64) and pred['semseg'].dtype == np.int64
        assert 0 <= pred['semseg'].min() and pred['semseg'].max() < 40
        assert pred['depth'].shape == (48, 64) and pred['depth'].dtype == np.float32
        assert (pred['depth'] >= 0).all()  # metres, as the head predicts them
        assert pred['normals'].shape == (3, 48, 64)
        np.testing.assert_allclose(np.linalg.norm(pred['normals'], axis=0), 1, atol=1e-5)
        stem = osp.splitext(osp.basename(path))[0]
        back = load_predictions(str(out / 'pred'), stem, TASKS)
        np.testing.assert_array_equal(back['semseg'][0], pred['semseg'])
        np.testing.assert_array_equal(back['depth'][0], pred['depth'])
        np.testing.assert_array_equal(back['normals'], pred['normals'])
        millimetres = cv2.imread(str(out / 'pred' / 'depth' / f'{stem}.png'), -1)
        np.testing.assert_array_equal(millimetres, np.rint(pred['depth'] * 1000))
        for task in TASKS:
            picture = cv2.imread(str(out / 'vis' / task / f'{stem}.png'))
            assert picture is not None and picture.shape[0] == 48, task
        assert cv2.imread(str(out / 'panels' / f'{stem}.png')).shape[0] == 3 * (48 + 24)

    # one image alone gives its entry; a list, arrays (BGR) and batches give the same predictions
    # (batch 2 and batch 1 differ by float rounding only)
    single = inferencer(images[1])['predictions']
    assert (single['semseg'] == preds[1]['semseg']).mean() > 0.99
    arrays = [cv2.imread(p) for p in images]
    again = inferencer([arrays[1], images[1]], batch_size=1)['predictions']
    np.testing.assert_array_equal(again[0]['semseg'], single['semseg'])
    np.testing.assert_array_equal(again[0]['depth'], again[1]['depth'])
    np.testing.assert_allclose(again[0]['depth'], preds[1]['depth'], rtol=1e-4, atol=1e-5)
    samples = inferencer(images[0], return_datasamples=True)
    assert samples[0].pred_depth_map.data.shape == (1, 48, 64)


def test_tasks_test_cfg_and_names(setup, tmp_path):
    root, ckpt, _ = setup
    images = _images(root)
    inferencer = MultiTaskInferencer(
        DEMO_CONFIG,
        ckpt,
        tasks=['depth'],
        device='cpu',
        test_cfg=dict(mode='slide', crop_size=(32, 32), stride=(16, 16), flip=True),
        show_progress=False,
    )
    assert inferencer.model.test_cfg['mode'] == 'slide' and inferencer.model.test_cfg['flip']
    result = inferencer(images[:2], out_dir=str(tmp_path), names=['a', 'b'])
    assert [sorted(p) for p in result['predictions']] == [['depth'], ['depth']]
    assert sorted(p.name for p in (tmp_path / 'pred').iterdir()) == ['depth']
    assert osp.isfile(tmp_path / 'pred' / 'depth' / 'b.npy')
    # the config saved in the checkpoint
    from_ckpt = MultiTaskInferencer(None, ckpt, device='cpu', show_progress=False)
    assert from_ckpt.tasks == TASKS


def test_bad_inputs_get_clear_errors(setup, tmp_path):
    root, ckpt, inferencer = setup
    with pytest.raises(FileNotFoundError, match='checkpoint .*missing.pth does not exist'):
        MultiTaskInferencer(DEMO_CONFIG, str(tmp_path / 'missing.pth'), device='cpu')
    with pytest.raises(FileNotFoundError, match="config 'no_such_config' is neither a file"):
        MultiTaskInferencer('no_such_config', ckpt, device='cpu')
    with pytest.raises(ValueError, match=r"the model has no task \['edge'\].*'normals'"):
        MultiTaskInferencer(DEMO_CONFIG, ckpt, tasks=['semseg', 'edge'], device='cpu')
    with pytest.raises(ValueError, match=r"keys mmkem does not read: \['window'\]"):
        MultiTaskInferencer(DEMO_CONFIG, ckpt, device='cpu', test_cfg=dict(window=3))
    other = save_model_checkpoint(
        DEMO_CONFIG, str(tmp_path / 'other.pth'), cfg_options=dict(tasks=['semseg', 'depth'])
    )
    with pytest.raises(CheckpointMismatchError, match='does not match the model'):
        MultiTaskInferencer(DEMO_CONFIG, other, device='cpu')
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device 'cuda': no GPU is visible"):
            MultiTaskInferencer(DEMO_CONFIG, ckpt, device='cuda')

    broken = tmp_path / 'broken.png'
    broken.write_bytes(b'not an image')
    with pytest.raises(ValueError, match='broken.png: cannot decode this file as an image'):
        inferencer([_images(root)[0], str(broken)])
    with pytest.raises(FileNotFoundError, match='input image .*nope.jpg does not exist'):
        inferencer(str(tmp_path / 'nope.jpg'))
    with pytest.raises(ValueError, match=r'inputs\[0\]: expected an \(H, W, 3\) uint8 BGR'):
        inferencer(np.zeros((4, 4), np.float32))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='empty holds no image'):
        inferencer(str(tmp_path / 'empty'))


def test_registered_as_an_inferencer():
    from mmseg.registry import INFERENCERS

    assert INFERENCERS.get('MultiTaskInferencer') is MultiTaskInferencer
