"""Geometry of the multi-task transforms (resize, crop, flip) on hand-made arrays."""

import numpy as np
import pytest
from mmseg.registry import TRANSFORMS

from mmkem.testing import coordinate_results

H, W = 6, 8


def make_results():
    return coordinate_results(H, W)


def build(cfg):
    return TRANSFORMS.build(cfg)


def test_flip_negates_normal_x():
    ref = make_results()
    out = build(dict(type='MultiTaskRandomFlip', prob=1.0))(make_results())
    assert out['flip'] and out['flip_direction'] == 'horizontal'
    np.testing.assert_array_equal(out['img'], ref['img'][:, ::-1])
    np.testing.assert_array_equal(out['gt_sem_seg'], ref['gt_sem_seg'][:, ::-1])
    np.testing.assert_array_equal(out['gt_depth_map'], ref['gt_depth_map'][:, ::-1])
    np.testing.assert_array_equal(out['gt_edge'], ref['gt_edge'][:, ::-1])
    expected = ref['gt_normals'][:, ::-1].copy()
    expected[..., 0] *= -1
    np.testing.assert_array_equal(out['gt_normals'], expected)
    assert out['gt_normals'][0, -1].tolist() == [0, 0, 0]  # invalid stays all-zero
    assert out['gt_normals'][1, 1].tolist() == pytest.approx([-0.6, -0.8, 0])


def test_vertical_flip_negates_normal_y():
    out = build(dict(type='MultiTaskRandomFlip', prob=1.0, direction='vertical'))(make_results())
    assert out['gt_normals'][1, 1].tolist() == pytest.approx([0.6, 0.8, 0])
    np.testing.assert_array_equal(out['gt_sem_seg'], make_results()['gt_sem_seg'][::-1])


def test_no_flip():
    out = build(dict(type='MultiTaskRandomFlip', prob=0.0))(make_results())
    assert not out['flip'] and out['flip_direction'] is None
    np.testing.assert_array_equal(out['gt_normals'], make_results()['gt_normals'])


def test_fixed_resize_keeps_depth_by_default():
    out = build(dict(type='MultiTaskResize', scale=(2 * W, 2 * H)))(make_results())
    assert out['img'].shape == (2 * H, 2 * W, 3) and out['img_shape'] == (2 * H, 2 * W)
    assert out['scale_factor'] == (2.0, 2.0)
    ref = make_results()
    # nearest neighbour: each pixel becomes a 2x2 block
    np.testing.assert_array_equal(out['gt_sem_seg'], ref['gt_sem_seg'].repeat(2, 0).repeat(2, 1))
    np.testing.assert_array_equal(
        out['gt_depth_map'], ref['gt_depth_map'].repeat(2, 0).repeat(2, 1)
    )
    np.testing.assert_array_equal(out['gt_normals'], ref['gt_normals'].repeat(2, 0).repeat(2, 1))


def test_resize_divides_depth():
    out = build(dict(type='MultiTaskResize', scale=(2 * W, 2 * H), scale_depth=True))(
        make_results()
    )
    expected = make_results()['gt_depth_map'].repeat(2, 0).repeat(2, 1) / 2
    np.testing.assert_allclose(out['gt_depth_map'], expected)
    assert out['gt_depth_map'].dtype == np.float32
    assert (out['gt_depth_map'][:2, :2] == 0.5).all()


def test_random_resize_divides_depth_by_ratio():
    resize = build(dict(type='MultiTaskRandomResize', scale=(W, H), ratio_range=(2.0, 2.0)))
    out = resize(make_results())
    assert out['img_shape'] == (2 * H, 2 * W)
    np.testing.assert_allclose(
        out['gt_depth_map'], make_results()['gt_depth_map'].repeat(2, 0).repeat(2, 1) / 2
    )
    # labels are resampled nearest: no new values appear
    assert set(np.unique(out['gt_sem_seg'])) == set(np.unique(make_results()['gt_sem_seg']))


def test_random_resize_ratio_vs_scale_factor():
    """A base scale of twice the image: 'ratio' divides by r = 1, 'scale_factor' by 2."""
    cfg = dict(type='MultiTaskRandomResize', scale=(2 * W, 2 * H), ratio_range=(1.0, 1.0))
    out = build(cfg)(make_results())
    np.testing.assert_allclose(out['gt_depth_map'][::2, ::2], make_results()['gt_depth_map'])
    out = build(dict(cfg, depth_scaling='scale_factor'))(make_results())
    np.testing.assert_allclose(out['gt_depth_map'][::2, ::2], make_results()['gt_depth_map'] / 2)


def test_random_resize_draws_in_range():
    resize = build(dict(type='MultiTaskRandomResize', scale=(80, 60), ratio_range=(0.5, 1.0)))
    np.random.seed(0)
    heights = {resize(make_results())['img_shape'][0] for _ in range(20)}
    assert min(heights) >= 30 and max(heights) <= 60 and len(heights) > 3


def test_crop_is_consistent_across_fields():
    crop = build(dict(type='MultiTaskRandomCrop', crop_size=(3, 4)))
    np.random.seed(1)
    offsets = set()
    for _ in range(10):
        out = crop(make_results())
        assert out['img_shape'] == (3, 4)
        y0, x0 = int(out['img'][0, 0, 0]), int(out['img'][0, 0, 1])
        offsets.add((y0, x0))
        ref = make_results()
        window = (slice(y0, y0 + 3), slice(x0, x0 + 4))
        for key in ref['seg_fields']:
            np.testing.assert_array_equal(out[key], ref[key][window])
    assert len(offsets) > 1


def test_crop_larger_than_image():
    out = build(dict(type='MultiTaskRandomCrop', crop_size=(100, 100)))(make_results())
    assert out['img'].shape[:2] == (H, W) and out['gt_normals'].shape == (H, W, 3)


def test_crop_cat_max_ratio():
    """Class 0 fills all but one column; windows on that single-class part are redrawn."""
    results = make_results()
    results['gt_sem_seg'] = np.zeros((H, W), np.uint8)
    results['gt_sem_seg'][:, -1] = 1
    crop = build(dict(type='MultiTaskRandomCrop', crop_size=(H, 2), cat_max_ratio=0.75))
    np.random.seed(0)
    hits = [
        crop(dict(results, seg_fields=list(results['seg_fields'])))['gt_sem_seg'] for _ in range(20)
    ]
    share = np.mean([(h == 1).any() for h in hits])
    # one of 7 offsets contains class 1; redrawing up to 10 times finds it far more often
    assert share > 0.5


@pytest.mark.parametrize(
    'cfg',
    [
        dict(type='MultiTaskResize', scale=(0, 4)),
        dict(type='MultiTaskRandomResize', scale=(4, 4), ratio_range=(2.0, 1.0)),
        dict(type='MultiTaskRandomResize', scale=(4, 4), depth_scaling='sqrt'),
        dict(type='MultiTaskRandomCrop', crop_size=(0, 4)),
        dict(type='MultiTaskRandomCrop', crop_size=4, cat_max_ratio=0.0),
        dict(type='MultiTaskRandomFlip', prob=1.5),
        dict(type='MultiTaskRandomFlip', direction='sideways'),
    ],
)
def test_bad_arguments(cfg):
    with pytest.raises(ValueError):
        build(cfg)
