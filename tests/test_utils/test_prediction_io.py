"""Prediction files: each kind's format on disk, read back to the arrays that were written."""

import cv2
import numpy as np
import pytest

import mmkem  # noqa: F401
from mmkem.utils.prediction_io import (
    image_stem,
    load_prediction,
    load_predictions,
    predictions_of,
    save_predictions,
)


def _preds(height=6, width=8, seed=0):
    rng = np.random.default_rng(seed)
    normals = rng.normal(size=(3, height, width)).astype(np.float32)
    normals /= np.linalg.norm(normals, axis=0, keepdims=True)
    return dict(
        semseg=rng.integers(0, 40, (1, height, width)),
        human_parts=rng.integers(0, 7, (1, height, width)),
        depth=rng.uniform(0.3, 9.0, (1, height, width)).astype(np.float32),
        normals=normals,
        sal=rng.uniform(0, 1, (1, height, width)).astype(np.float32),
        edge=rng.uniform(0, 1, (1, height, width)).astype(np.float32),
    )


def test_files_decode_back_to_the_predictions(tmp_path):
    preds = _preds()
    written = save_predictions(preds, str(tmp_path), 'img_01')
    assert sorted(written) == sorted(preds)
    # the agreed layout: DIR/<task>/<image stem>.<ext>
    assert {p.replace(str(tmp_path) + '/', '') for p in written['depth']} == {
        'depth/img_01.npy',
        'depth/img_01.png',
    }
    back = load_predictions(str(tmp_path), 'img_01', list(preds))
    for task, pred in preds.items():
        assert back[task].shape == pred.shape, task
        np.testing.assert_array_equal(back[task], pred.astype(back[task].dtype), err_msg=task)
    assert back['semseg'].dtype == np.int64


def test_png_formats(tmp_path):
    preds = _preds()
    save_predictions(preds, str(tmp_path), 'a')
    labels = cv2.imread(str(tmp_path / 'semseg' / 'a.png'), cv2.IMREAD_UNCHANGED)
    assert labels.dtype == np.uint8 and labels.ndim == 2
    np.testing.assert_array_equal(labels, preds['semseg'][0])
    millimetres = cv2.imread(str(tmp_path / 'depth' / 'a.png'), cv2.IMREAD_UNCHANGED)
    assert millimetres.dtype == np.uint16
    np.testing.assert_array_equal(millimetres, np.rint(preds['depth'][0] * 1000).astype(np.uint16))
    edge = cv2.imread(str(tmp_path / 'edge' / 'a.png'), cv2.IMREAD_UNCHANGED)
    assert edge.dtype == np.uint8
    np.testing.assert_array_equal(edge, np.rint(preds['edge'][0] * 255).astype(np.uint8))
    rgb = cv2.imread(str(tmp_path / 'normals' / 'a.png'))[..., ::-1]
    np.testing.assert_allclose(rgb / 255 * 2 - 1, preds['normals'].transpose(1, 2, 0), atol=0.01)


def test_readers_fall_back_to_the_png(tmp_path):
    preds = _preds()
    save_predictions(preds, str(tmp_path), 'a')
    for task in ('depth', 'normals', 'sal'):
        (tmp_path / task / 'a.npy').unlink()
    depth = load_prediction('depth', str(tmp_path), 'a')
    np.testing.assert_allclose(depth, preds['depth'], atol=5e-4)  # millimetres
    sal = load_prediction('sal', str(tmp_path), 'a')
    np.testing.assert_allclose(sal, preds['sal'], atol=0.5 / 255 + 1e-6)
    normals = load_prediction('normals', str(tmp_path), 'a')
    np.testing.assert_allclose(normals, preds['normals'], atol=0.02)


def test_bad_predictions_and_missing_files_are_named(tmp_path):
    with pytest.raises(ValueError, match=r'class ids must be in \[0, 255\]'):
        save_predictions(dict(semseg=np.full((1, 2, 2), 300)), str(tmp_path), 'x')
    with pytest.raises(ValueError, match=r'normals of shape \(3, H, W\)'):
        save_predictions(dict(normals=np.zeros((1, 2, 2))), str(tmp_path), 'x')
    with pytest.raises(FileNotFoundError, match='semseg/missing.png'):
        load_prediction('semseg', str(tmp_path), 'missing')


def test_predictions_of_a_sample_and_stems():
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    sample = SegDataSample()
    sample.set_data(dict(pred_depth_map=PixelData(data=np.ones((1, 2, 3), np.float32))))
    assert predictions_of(sample, ['depth'])['depth'].shape == (1, 2, 3)
    with pytest.raises(KeyError, match="'pred_normals'"):
        predictions_of(sample, ['normals'])
    assert image_stem('/data/images/0042.jpg', 3) == '0042'
    assert image_stem(None, 3) == '00003'
