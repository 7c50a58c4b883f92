"""Audits of binary maps: what the decoders threshold but a release should not contain."""

import cv2
import numpy as np
import pytest

from mmkem.datasets.transforms import ANNOTATION_AUDITS, ANNOTATION_DECODERS
from mmkem.datasets.transforms.audits import audit_binary_npy, audit_binary_png


def _png(tmp_path, values):
    path = str(tmp_path / 'e.png')
    cv2.imwrite(path, np.array([values], np.uint8))
    with open(path, 'rb') as f:
        return f.read(), path


@pytest.mark.parametrize('values', [[0, 255, 255, 0], [0, 1, 1, 0], [0, 0, 0, 0], [255] * 4])
def test_binary_png_passes(tmp_path, values):
    assert audit_binary_png(*_png(tmp_path, values), {}) is None


def test_binary_png_with_grey_values(tmp_path):
    err = audit_binary_png(*_png(tmp_path, [0, 128, 255, 7]), {})
    assert err.problem == 'not binary' and err.path == str(tmp_path / 'e.png')
    assert str(err).startswith(
        f'{tmp_path / "e.png"}: 2 of 4 pixels are not 0 / 255 (found [7, 128])'
    )
    # mixed conventions: 0 / 1 / 255
    assert audit_binary_png(*_png(tmp_path, [0, 1, 255, 0]), {}).problem == 'not binary'
    # the decoder still thresholds it (training tolerates it)
    content, path = _png(tmp_path, [0, 128, 255, 7])
    assert ANNOTATION_DECODERS['binary_png'](content, path, {}).tolist() == [[0, 1, 1, 0]]


def test_binary_npy(tmp_path):
    path = str(tmp_path / 'e.npy')
    for values, bad in (([0.0, 1.0], False), ([0.0, 0.5], True), ([0.0, np.nan], True)):
        np.save(path, np.array([values], np.float32))
        with open(path, 'rb') as f:
            err = audit_binary_npy(f.read(), path, {})
        assert (err is not None) == bad and (err is None or err.problem == 'not binary')


def test_only_formats_that_must_be_binary_are_audited():
    """The kinds' binary decoders are audited; PASCAL's soft distilled saliency is not."""
    assert set(ANNOTATION_AUDITS) == {'binary_png', 'binary_npy'}
    assert 'half_threshold' in ANNOTATION_DECODERS
