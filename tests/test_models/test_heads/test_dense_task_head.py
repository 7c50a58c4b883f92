"""DenseTaskHead: outputs per task spec, losses against plain references, post-processing."""

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmkem  # noqa: F401
from mmkem.structures import TASK_SPECS, TaskSpec, register_task

init_default_scope('mmseg')


def _head(task, **kwargs):
    return MODELS.build(dict(type='DenseTaskHead', task=task, in_channels=8, **kwargs))


def _sample(**fields):
    sample = SegDataSample()
    for name, data in fields.items():
        sample.set_data({name: PixelData(data=data)})
    return sample


def _constant_output(head, values):
    """Make the head output ``values[c]`` everywhere, whatever the input."""
    with torch.no_grad():
        head.conv_out.weight.zero_()
        head.conv_out.bias.copy_(torch.as_tensor(values, dtype=torch.float32))


@pytest.mark.parametrize(
    'task,channels', [('semseg', 40), ('depth', 1), ('normals', 3), ('edge', 1), ('sal', 1)]
)
def test_output_channels_follow_task_kind(task, channels):
    # A kind with labels has no channel count of its own: the classes are the dataset's.
    head = _head(task, out_channels=40) if task == 'semseg' else _head(task)
    assert head(torch.randn(2, 8, 5, 6)).shape == (2, channels, 5, 6)
    assert _head(task, out_channels=7, num_convs=0)(torch.randn(1, 8, 3, 3)).shape[1] == 7


def test_label_task_needs_its_number_of_classes():
    with pytest.raises(ValueError, match=r'num_classes=dict\(semseg=N\)'):
        _head('semseg')


def test_semseg_loss_matches_cross_entropy_after_upsampling():
    torch.manual_seed(0)
    head = _head('semseg', out_channels=4)
    logits = torch.randn(2, 4, 4, 4)
    gt = torch.randint(0, 4, (2, 1, 8, 8))
    gt[0, 0, :3] = 255
    losses = head.loss_by_feat(logits, [_sample(gt_sem_seg=g) for g in gt])
    up = F.interpolate(logits, size=(8, 8), mode='bilinear', align_corners=False)
    expected = F.cross_entropy(up, gt[:, 0], ignore_index=255)
    assert set(losses) == {'loss_ce'}
    assert losses['loss_ce'].item() == pytest.approx(expected.item(), rel=1e-5)


def test_depth_loss_masks_invalid_and_padding():
    head = _head('depth')
    _constant_output(head, [2.0])  # prediction 2 m everywhere
    gt = torch.zeros(1, 1, 4, 6)  # columns 4, 5: padding (0)
    gt[0, 0, :, :4] = torch.tensor(
        [[1.0, 2.0, 3.0, 0.0], [4.0, 0.0, 2.0, 2.0], [2.5, 1.5, 0.0, 0.0], [2.0, 2.0, 2.0, 6.0]]
    )
    losses = head.loss_by_feat(head(torch.randn(1, 8, 2, 3)), [_sample(gt_depth_map=gt[0])])
    valid = [1.0, 2.0, 3.0, 4.0, 2.0, 2.0, 2.5, 1.5, 2.0, 2.0, 2.0, 6.0]
    expected = sum(abs(2.0 - d) for d in valid) / len(valid)  # 12 / 12 = 1.0
    assert losses['loss_depth_l1'].item() == pytest.approx(expected)


def test_edge_loss_default_is_balanced_and_ignores_255():
    head = _head('edge')
    _constant_output(head, [0.0])  # sigmoid 0.5: BCE log 2 per pixel
    gt = torch.tensor([[[1.0, 0.0], [255.0, 0.0]]])
    losses = head.loss_by_feat(head(torch.randn(1, 8, 2, 2)), [_sample(gt_edge=gt)])
    log2 = torch.log(torch.tensor(2.0)).item()
    expected = (0.95 * log2 + 0.05 * log2 + 0.05 * log2) / 3
    assert losses['loss_edge_bce'].item() == pytest.approx(expected, rel=1e-5)


def test_several_losses_and_missing_gt():
    head = _head(
        'depth',
        loss_decode=[dict(type='DepthL1Loss'), dict(type='DepthL1Loss', loss_name='loss_aux')],
    )
    out = head(torch.randn(1, 8, 2, 2))
    gt = torch.rand(1, 2, 2) + 0.5
    losses = head.loss_by_feat(out, [_sample(gt_depth_map=gt)])
    assert set(losses) == {'loss_depth_l1', 'loss_aux'}
    assert losses['loss_aux'].item() == pytest.approx(losses['loss_depth_l1'].item())
    with pytest.raises(ValueError, match="'gt_depth_map'"):
        head.loss_by_feat(out, [_sample(gt_sem_seg=torch.zeros(1, 2, 2).long())])


def test_unknown_kind_is_rejected():
    # Rejected when the task is registered, before any head is built.
    with pytest.raises(ValueError, match="kind 'toy'"):
        register_task(TaskSpec('toy_kind_task', 'toy', 'gt_toy', 'pred_toy'))
    assert 'toy_kind_task' not in TASK_SPECS


def test_postprocess_removes_padding_resizes_and_activates():
    head = _head('semseg', out_channels=3)
    output = torch.zeros(3, 6, 8)
    output[1, :4, :6] = 5.0  # class 1 inside the image, class 0 in the padding
    output[2, 4:, :] = 9.0  # class 2 only in the bottom padding rows
    meta = dict(padding_size=[0, 2, 0, 2], ori_shape=(8, 12), img_shape=(4, 6))
    pred, logits = head.postprocess(output, meta)
    assert pred.shape == (1, 8, 12) and pred.dtype == torch.long
    assert torch.all(pred == 1)
    assert logits.shape == (3, 8, 12)
    # Without padding_size, everything outside img_shape is padding.
    pred2, _ = head.postprocess(output, dict(img_shape=(4, 6), ori_shape=(4, 6)))
    assert torch.all(pred2 == 1)


def test_postprocess_normals_unit_and_flip_negates_x():
    head = _head('normals')
    output = torch.zeros(3, 2, 2)
    output[:, 0, 0] = torch.tensor([3.0, 0.0, 4.0])  # left column
    output[:, :, 1] = torch.tensor([0.0, 0.0, 2.0])[:, None]
    output[:, 1, 0] = torch.tensor([0.0, 1.0, 0.0])
    pred, _ = head.postprocess(output, dict(ori_shape=(2, 2)))
    assert torch.allclose(pred.norm(dim=0), torch.ones(2, 2))
    flipped, _ = head.postprocess(output, dict(flip=True, flip_direction='horizontal'))
    # the prediction for the flipped image, mapped back: columns swapped and x negated
    assert torch.allclose(flipped[:, 0, 1], torch.tensor([-0.6, 0.0, 0.8]))
    assert torch.allclose(flipped[:, 0, 0], torch.tensor([0.0, 0.0, 1.0]))


def test_postprocess_depth_and_edge_ranges():
    depth, _ = _head('depth').postprocess(torch.tensor([[[-1.0, 2.0]]]))
    assert depth.tolist() == [[[0.0, 2.0]]]
    edge, _ = _head('edge').postprocess(torch.tensor([[[0.0, 100.0]]]))
    assert edge.flatten().tolist() == pytest.approx([0.5, 1.0])
