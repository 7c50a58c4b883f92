"""MultiTaskDataPreProcessor: normalisation and per-field padding values."""

import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmkem  # noqa: F401


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def make_sample(h, w, seed):
    g = torch.Generator().manual_seed(seed)
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=torch.randint(0, 40, (1, h, w), generator=g))
    sample.gt_depth_map = PixelData(data=torch.rand(1, h, w, generator=g) + 0.5)
    normals = torch.nn.functional.normalize(torch.randn(3, h, w, generator=g), dim=0)
    sample.gt_normals = PixelData(data=normals)
    sample.gt_edge = PixelData(data=torch.randint(0, 2, (1, h, w), generator=g).float())
    return sample


def make_batch():
    g = torch.Generator().manual_seed(0)
    inputs = [
        torch.randint(0, 256, (3, 5, 7), generator=g, dtype=torch.uint8),
        torch.randint(0, 256, (3, 6, 4), generator=g, dtype=torch.uint8),
    ]
    return dict(inputs=inputs, data_samples=[make_sample(5, 7, 1), make_sample(6, 4, 2)])


MEAN, STD = [10.0, 20.0, 30.0], [2.0, 4.0, 5.0]


def build(**kwargs):
    return MODELS.build(dict(type='MultiTaskDataPreProcessor', **kwargs))


def test_padding_values_in_training():
    batch = make_batch()
    originals = [make_sample(5, 7, 1), make_sample(6, 4, 2)]
    out = build(mean=MEAN, std=STD, size_divisor=4, pad_val=-1)(batch, training=True)
    inputs, samples = out['inputs'], out['data_samples']
    assert inputs.shape == (2, 3, 8, 8)  # max (6, 7) rounded up to multiples of 4
    for sample, ref, (h, w) in zip(samples, originals, [(5, 7), (6, 4)]):
        depth = sample.gt_depth_map.data
        assert depth.shape == (1, 8, 8)
        assert torch.equal(depth[:, :h, :w], ref.gt_depth_map.data)
        assert (depth[:, h:] == 0).all() and (depth[:, :, w:] == 0).all()  # padding = invalid
        label = sample.gt_sem_seg.data
        assert label.dtype == torch.long
        assert torch.equal(label[:, :h, :w], ref.gt_sem_seg.data)
        assert (label[:, h:] == 255).all() and (label[:, :, w:] == 255).all()  # ignore
        normals = sample.gt_normals.data
        assert normals.shape == (3, 8, 8) and (normals[:, h:] == 0).all()
        assert (normals[:, :, w:] == 0).all()
        edge = sample.gt_edge.data
        assert (edge[:, h:] == 255).all() and (edge[:, :, w:] == 255).all()
        assert sample.img_shape == (h, w) and sample.pad_shape == (8, 8)
        assert sample.batch_input_shape == (8, 8)
        assert sample.padding_size == [0, 8 - w, 0, 8 - h]
    # images: normalised, then padded with pad_val
    raw = make_batch()['inputs'][1].float()
    mean, std = torch.tensor(MEAN).view(3, 1, 1), torch.tensor(STD).view(3, 1, 1)
    torch.testing.assert_close(inputs[1, :, :6, :4], (raw - mean) / std)
    assert (inputs[1, :, :, 4:] == -1).all() and (inputs[0, :, 5:] == -1).all()


def test_bgr_to_rgb_and_fixed_size():
    out = build(bgr_to_rgb=True, size=(9, 10))(make_batch(), training=True)
    assert out['inputs'].shape == (2, 3, 9, 10)
    raw = make_batch()['inputs'][0].float()
    torch.testing.assert_close(out['inputs'][0, :, :5, :7], raw[[2, 1, 0]])
    assert out['data_samples'][0].gt_depth_map.shape == (9, 10)


def test_test_mode_leaves_ground_truth_alone():
    out = build(size_divisor=4)(make_batch(), training=False)
    assert out['inputs'].shape == (2, 3, 8, 8)
    sample = out['data_samples'][0]
    assert sample.gt_depth_map.shape == (5, 7)  # metrics compare at the original size
    assert sample.img_padding_size == [0, 1, 0, 3]


def test_test_cfg():
    batch = make_batch()
    batch['inputs'] = [x[:, :4, :4] for x in batch['inputs']]
    out = build(size_divisor=4, test_cfg=dict(size=(6, 6)))(batch, training=False)
    assert out['inputs'].shape == (2, 3, 6, 6)
    assert out['data_samples'][1].pad_shape == (6, 6)


def test_tasks_restricts_padded_fields():
    out = build(size_divisor=4, tasks=('depth',))(make_batch(), training=True)
    sample = out['data_samples'][0]
    assert sample.gt_depth_map.shape == (8, 8) and sample.gt_sem_seg.shape == (5, 7)


@pytest.mark.parametrize(
    'kwargs',
    [
        dict(bgr_to_rgb=True, rgb_to_bgr=True),
        dict(mean=[0, 0, 0]),
        dict(size=(4, 4), size_divisor=4),
        dict(size_divisor=0),
    ],
)
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        build(**kwargs)
