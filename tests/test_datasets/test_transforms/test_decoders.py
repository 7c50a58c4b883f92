"""The decoders refuse what used to be accepted silently, each with a message naming the file and
what was expected: normals saved as one grey channel, all-black normals, depth in millimetres,
normals arrays that are not unit vectors; and the options that read such releases on purpose."""

import shutil

import cv2
import numpy as np
import pytest
from mmseg.registry import DATASETS
from PIL import Image

from mmkem.datasets.transforms import (
    BadAnnotationError,
    LoadMultiTaskAnnotations,
    loading_problem,
)
from mmkem.testing import CORRUPTIONS, corrupt_file, write_tiny_nyud

TASKS = ('semseg', 'depth', 'normals', 'edge')


@pytest.fixture(scope='module')
def releases(tmp_path_factory):
    """A 2 + 1 sample dataset in each release's layout: png normals / edges, and .npy ones."""
    roots = {}
    for release in ('png', 'jpg'):
        roots[release] = tmp_path_factory.mktemp(f'decoders_{release}')
        write_tiny_nyud(str(roots[release]), release, 2, 1, (24, 32), seed=1, num_real=0)
    return roots


def _dataset(root, load=None):
    load = load or dict(type='LoadMultiTaskAnnotations')
    pipeline = [dict(type='LoadImageFromFile'), load]
    return DATASETS.build(
        dict(type='NYUDv2Dataset', data_root=str(root), tasks=TASKS, pipeline=pipeline)
    )


def corrupted(releases, tmp_path, release, how, load=None):
    """A copy of the release whose first train sample has the corruption; (dataset, path)."""
    root = tmp_path / release
    shutil.copytree(releases[release], root)
    task = CORRUPTIONS[how][0]
    dataset = _dataset(root, load)
    path = dataset.get_data_info(0)[f'{task}_path']
    corrupt_file(path, how)
    return dataset, path


def _error(dataset, path, problem):
    with pytest.raises(BadAnnotationError) as info:
        dataset[0]
    err = info.value
    assert isinstance(err, ValueError)  # callers catching ValueError still do
    assert str(err).startswith(f'{path}: ') and err.path == path and err.problem == problem
    assert loading_problem(err) == (problem, str(err))
    return str(err)


def test_normals_png_saved_as_one_grey_channel(releases, tmp_path):
    dataset, path = corrupted(releases, tmp_path, 'png', 'normals_grey')
    message = _error(dataset, path, 'normals not RGB')
    assert 'must be an RGB png (3 channels); this file has 1 channel(s)' in message
    assert 'saved as one grey channel' in message


@pytest.mark.parametrize('mode, channels', [('LA', 2), ('RGBA', 4)])
def test_normals_png_with_alpha(tmp_path, mode, channels):
    """Grey + alpha and RGBA: not RGB (OpenCV reads both with 4 channels)."""
    Image.fromarray(np.full((2, 3, channels), 200, np.uint8), mode).save(tmp_path / 'n.png')
    with pytest.raises(BadAnnotationError, match='RGB png .3 channels.; this file has 4 channel'):
        LoadMultiTaskAnnotations(tasks=('normals',))(
            dict(normals_path=str(tmp_path / 'n.png'), ori_shape=(2, 3))
        )


def test_all_zero_normals_png(releases, tmp_path):
    """An all-black png decodes to (-1, -1, -1) everywhere: no normal at all."""
    dataset, path = corrupted(releases, tmp_path, 'png', 'normals_all_black')
    message = _error(dataset, path, 'normals all invalid')
    assert 'no pixel is a unit normal: all 768 pixels are the invalid marker' in message
    assert '(-1, -1, -1)' in message and "{'normals': dict(require_valid=False)}" in message
    # on purpose: require_valid=False reads it as all-invalid
    load = dict(
        type='LoadMultiTaskAnnotations', decode_options=dict(normals=dict(require_valid=False))
    )
    dataset, _ = corrupted(releases, tmp_path / 'optin', 'png', 'normals_all_black', load)
    np.testing.assert_array_equal(dataset[0]['gt_normals'], 0)


def test_all_zero_and_not_unit_normals_npy(releases, tmp_path):
    dataset, path = corrupted(releases, tmp_path, 'jpg', 'normals_all_black')
    assert 'the invalid marker (0, 0, 0)' in _error(dataset, path, 'normals all invalid')
    dataset, path = corrupted(releases, tmp_path / 'short', 'jpg', 'normals_not_unit')
    message = _error(dataset, path, 'normals not unit length')
    assert '768 of 768 normals are neither unit vectors nor the invalid (0, 0, 0)' in message
    assert 'lengths 0.3..0.3' in message


def test_16_bit_normals_png(tmp_path):
    """v / 65535: a 16-bit png is not read as 8 bits."""
    rgb = np.array([[[65535, 32768, 32768], [32768, 32768, 65535]]], np.uint16)
    cv2.imwrite(str(tmp_path / 'n.png'), rgb[..., ::-1])
    out = LoadMultiTaskAnnotations(tasks=('normals',))(
        dict(normals_path=str(tmp_path / 'n.png'), ori_shape=(1, 2))
    )['gt_normals']
    np.testing.assert_allclose(out[0, 0], [1, 0, 0], atol=1e-4)
    np.testing.assert_allclose(out[0, 1], [0, 0, 1], atol=1e-4)


def test_depth_in_millimetres_is_refused_and_rescale_factor_reads_it(releases, tmp_path):
    dataset, path = corrupted(releases, tmp_path, 'png', 'depth_millimetres')
    message = _error(dataset, path, 'depth implausible')
    assert 'depth values exceed max_depth=100 m' in message and 'depth must be in metres' in message
    assert "decode_options={'depth': dict(rescale_factor=0.001)}" in message
    metres = np.load(releases['png'] / 'depth' / (dataset.get_data_info(0)['sample_id'] + '.npy'))

    load = dict(
        type='LoadMultiTaskAnnotations', decode_options=dict(depth=dict(rescale_factor=1e-3))
    )
    dataset, _ = corrupted(releases, tmp_path / 'mm', 'png', 'depth_millimetres', load)
    depth = dataset[0]['gt_depth_map']
    assert depth.dtype == np.float32
    np.testing.assert_allclose(depth, metres, rtol=1e-6)
    assert ((depth == 0) == (metres == 0)).all()  # invalid stays 0


def test_max_depth_is_configurable(releases, tmp_path):
    raise_it = dict(type='LoadMultiTaskAnnotations', decode_options=dict(depth=dict(max_depth=1.0)))
    dataset, path = corrupted(releases, tmp_path, 'png', 'depth_millimetres', raise_it)
    np.save(path, np.full((24, 32), 2.0, np.float32))
    assert 'exceed max_depth=1 m (largest 2)' in _error(dataset, path, 'depth implausible')
    off = dict(type='LoadMultiTaskAnnotations', decode_options=dict(depth=dict(max_depth=None)))
    dataset, path = corrupted(releases, tmp_path / 'off', 'png', 'depth_millimetres', off)
    assert dataset[0]['gt_depth_map'].max() > 100
    # after rescaling: millimetres * 0.001 against the bound in metres
    both = dict(depth=dict(rescale_factor=1e-3, max_depth=1.0))
    load = dict(type='LoadMultiTaskAnnotations', decode_options=both)
    dataset, path = corrupted(releases, tmp_path / 'both', 'png', 'depth_millimetres', load)
    assert 'after rescale_factor=0.001' in _error(dataset, path, 'depth implausible')


def test_decode_options_are_checked():
    with pytest.raises(
        ValueError, match=r"unknown option\(s\) \['scale'\].*\['max_depth', 'rescale_factor'\]"
    ):
        LoadMultiTaskAnnotations(decode_options=dict(depth=dict(scale=0.001)))
    with pytest.raises(ValueError, match="kind 'segmentation' take \\[\\]"):
        LoadMultiTaskAnnotations(decode_options=dict(semseg=dict(rescale_factor=1.0)))
    with pytest.raises(KeyError, match='unknown task'):
        LoadMultiTaskAnnotations(decode_options=dict(dept=dict(rescale_factor=1.0)))


def test_depth_error_names_the_problem_kind(releases, tmp_path):
    for how in ('depth_nan', 'depth_negative'):
        dataset, path = corrupted(releases, tmp_path / how, 'jpg', how)
        assert 'finite and >= 0' in _error(dataset, path, 'depth not finite or negative')
    dataset, path = corrupted(releases, tmp_path / 'size', 'jpg', 'size_mismatch')
    assert 'size (5, 7) differs from the image size (24, 32)' in _error(
        dataset, path, 'size mismatch'
    )
    dataset, path = corrupted(releases, tmp_path / 'trunc', 'jpg', 'truncate')
    assert 'cannot read this file as an image' in _error(dataset, path, 'unreadable file')


def test_seism_boundaries_decoder_reads_label_maps_as_the_benchmark(tmp_path):
    """seg2bmap of a .mat LabelMap, a label .png and a .npy: SEISM's ground truth."""
    import io

    import scipy.io

    from mmkem.datasets.transforms import ANNOTATION_DECODERS
    from mmkem.evaluation.functional import seg2bmap

    decode = ANNOTATION_DECODERS['seism_boundaries']
    labels = np.zeros((6, 7), dtype=np.uint16)
    labels[2:, 3:] = 7
    labels[4, 0] = 300  # PASCAL-Context's LabelMap has ids > 255
    expected = seg2bmap(labels).astype(np.uint8)
    mat = io.BytesIO()
    scipy.io.savemat(mat, dict(LabelMap=labels))
    np.testing.assert_array_equal(decode(mat.getvalue(), 'x.mat', {}), expected)
    npy = io.BytesIO()
    np.save(npy, labels.astype(np.float32))
    np.testing.assert_array_equal(decode(npy.getvalue(), 'x.npy', {}), expected)
    edge = (labels == 7).astype(np.uint8) * 255  # NYUD-v2's edge PNGs are read as labels too
    ok, png = cv2.imencode('.png', edge)
    np.testing.assert_array_equal(decode(png.tobytes(), 'x.png', {}), seg2bmap(edge))
    bad = io.BytesIO()
    scipy.io.savemat(bad, dict(Other=labels))
    with pytest.raises(ValueError, match='LabelMap'):
        decode(bad.getvalue(), 'x.mat', {})


def test_loader_decoders_override_reads_the_benchmark_ground_truth(releases):
    """LoadMultiTaskAnnotations(decoders=dict(edge='seism_boundaries')): SEISM's seg2bmap GT."""
    from mmkem.evaluation.functional import seg2bmap

    root = releases['png']
    plain = _dataset(root)[0]['gt_edge']
    seism = _dataset(
        root, dict(type='LoadMultiTaskAnnotations', decoders=dict(edge='seism_boundaries'))
    )
    sample = seism[0]
    edge_png = cv2.imread(sample['edge_path'], cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(sample['gt_edge'], seg2bmap(edge_png))
    assert sample['gt_edge'].sum() > plain.sum()  # both sides of each line
    with pytest.raises(KeyError, match='not a registered annotation decoder'):
        LoadMultiTaskAnnotations(decoders=dict(edge='no_such_decoder'))
