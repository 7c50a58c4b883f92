"""PackMultiTaskInputs on hand-made arrays."""

import torch
from mmseg.registry import TRANSFORMS

from mmkem.testing import coordinate_results

H, W = 6, 8


def make_results():
    return coordinate_results(H, W)


def build(cfg):
    return TRANSFORMS.build(cfg)


def test_pack():
    results = make_results()
    results.update(
        img_path='a.png',
        flip=False,
        flip_direction=None,
        tasks=('semseg', 'depth'),
        scale_factor=(1.0, 1.0),
    )
    results['seg_fields'].append('gt_seg_map')  # a field no task declares is left out
    results['gt_seg_map'] = results['gt_sem_seg']
    out = build(dict(type='PackMultiTaskInputs'))(results)
    inputs, sample = out['inputs'], out['data_samples']
    assert inputs.shape == (3, H, W) and inputs.dtype == torch.uint8
    assert torch.equal(inputs[1], torch.from_numpy(results['img'][..., 1]))
    assert sample.gt_sem_seg.data.dtype == torch.long and sample.gt_sem_seg.shape == (H, W)
    assert sample.gt_depth_map.data.dtype == torch.float32
    assert torch.equal(sample.gt_depth_map.data[0], torch.from_numpy(results['gt_depth_map']))
    assert sample.gt_normals.data.shape == (3, H, W)
    assert torch.equal(sample.gt_normals.data[:, 2, 3], torch.tensor([0.6, -0.8, 0.0]))
    assert sample.gt_edge.data.dtype == torch.float32
    assert 'gt_seg_map' not in sample
    assert sample.img_path == 'a.png' and sample.tasks == ('semseg', 'depth')
    assert sample.ori_shape == (H, W) and sample.flip is False
