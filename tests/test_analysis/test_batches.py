"""mmkem.analysis.batches and .machine: the synthetic batch of the cost tools, the device line."""

from types import SimpleNamespace

import torch

from mmkem.analysis.batches import synthetic_batch
from mmkem.analysis.machine import cpu_name, device_name


def test_every_task_gets_its_ground_truth():
    model = SimpleNamespace(
        tasks=['semseg', 'depth', 'normals', 'sal'],
        heads={'semseg': SimpleNamespace(out_channels=7)},
    )
    data = synthetic_batch(model, 2, (8, 12))
    assert len(data['inputs']) == 2 and data['inputs'][0].shape == (3, 8, 12)
    sample = data['data_samples'][1]
    assert sample.metainfo['tasks'] == model.tasks and sample.metainfo['img_shape'] == (8, 12)
    seg = sample.gt_sem_seg.data
    assert seg.shape == (1, 8, 12) and 0 <= seg.min() and seg.max() < 7
    depth = sample.gt_depth_map.data
    assert depth.shape == (1, 8, 12) and 0.5 <= depth.min() and depth.max() <= 5.0
    normals = sample.gt_normals.data
    assert normals.shape == (3, 8, 12)
    assert torch.allclose(normals.norm(dim=0), torch.ones(8, 12), atol=1e-5)
    assert set(sample.gt_sal.data.unique().tolist()) <= {0.0, 1.0}
    again = synthetic_batch(model, 2, (8, 12))  # its own generator: the same batch
    assert torch.equal(again['data_samples'][1].gt_depth_map.data, depth)


def test_device_line():
    assert cpu_name()
    assert device_name('cpu', 3).endswith('cores), 3 torch threads')
