"""DepthL1Loss, NormalsLoss and BalancedBCELoss against hand computations."""

import math

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmkem  # noqa: F401  (registers the losses)

init_default_scope('mmseg')


def _bce(logit: float, label: float) -> float:
    p = 1 / (1 + math.exp(-logit))
    return -(label * math.log(p) + (1 - label) * math.log(1 - p))


# ----------------------------------------------------------------------------- depth
def test_depth_l1_mean_over_valid_pixels():
    loss = MODELS.build(dict(type='DepthL1Loss'))
    pred = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)
    target = torch.tensor([[0.0, 2.5], [2.0, 0.0]]).view(1, 1, 2, 2)
    # valid: (0, 1) |2 - 2.5| = 0.5 and (1, 0) |3 - 2| = 1 -> 0.75
    assert loss(pred, target).item() == pytest.approx(0.75)
    assert loss.loss_name == 'loss_depth_l1'


def test_depth_l1_ignores_padding_and_invalid():
    loss = MODELS.build(dict(type='DepthL1Loss', loss_weight=2.0))
    target = torch.zeros(1, 1, 3, 4)  # right column and bottom row: padding (0)
    target[0, 0, :2, :3] = torch.tensor([[1.0, 0.0, 3.0], [2.0, 2.0, 0.0]])  # two invalid zeros
    pred = torch.full((1, 1, 3, 4), 1000.0)  # garbage everywhere outside the valid pixels
    pred[0, 0, :2, :3] = torch.tensor([[1.5, 9.0, 2.0], [2.0, 4.0, -7.0]])
    # valid: |1.5-1|, |2-3|, |2-2|, |4-2| = 0.5 + 1 + 0 + 2 = 3.5 over 4 pixels, times 2
    assert loss(pred, target).item() == pytest.approx(2 * 3.5 / 4)


def test_depth_l1_no_valid_pixel_is_zero_with_grad():
    loss = MODELS.build(dict(type='DepthL1Loss'))
    pred = torch.randn(2, 1, 3, 3, requires_grad=True)
    value = loss(pred, torch.zeros(2, 1, 3, 3))
    assert value.item() == 0.0
    value.backward()
    assert torch.equal(pred.grad, torch.zeros_like(pred))


def test_depth_l1_shape_mismatch():
    loss = MODELS.build(dict(type='DepthL1Loss'))
    with pytest.raises(ValueError, match='same shape'):
        loss(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 3))


# ----------------------------------------------------------------------------- normals
def _normals_case():
    pred = torch.zeros(1, 3, 1, 2)
    target = torch.zeros(1, 3, 1, 2)
    pred[0, :, 0, 0] = torch.tensor([0.0, 3.0, 4.0])  # normalised: (0, 0.6, 0.8)
    target[0, :, 0, 0] = torch.tensor([0.0, 0.0, 1.0])
    pred[0, :, 0, 1] = torch.tensor([5.0, -1.0, 2.0])  # invalid gt (all zero): ignored
    return pred, target


def test_normals_l1_normalises_prediction_and_masks_invalid():
    loss = MODELS.build(dict(type='NormalsLoss'))
    pred, target = _normals_case()
    # |0 - 0| + |0.6 - 0| + |0.8 - 1| = 0.8 over 3 components of 1 valid pixel
    assert loss(pred, target).item() == pytest.approx(0.8 / 3, rel=1e-5)


def test_normals_cosine():
    loss = MODELS.build(dict(type='NormalsLoss', mode='cosine', loss_name='loss_cos'))
    pred, target = _normals_case()
    assert loss(pred, target).item() == pytest.approx(1 - 0.8, rel=1e-5)
    assert loss.loss_name == 'loss_cos'


def test_normals_errors():
    with pytest.raises(ValueError, match='mode'):
        MODELS.build(dict(type='NormalsLoss', mode='l2'))
    loss = MODELS.build(dict(type='NormalsLoss'))
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        loss(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2))


def test_normals_no_valid_pixel_is_zero_with_grad():
    loss = MODELS.build(dict(type='NormalsLoss'))
    pred = torch.randn(1, 3, 2, 2, requires_grad=True)
    value = loss(pred, torch.zeros(1, 3, 2, 2))
    value.backward()
    assert value.item() == 0.0 and torch.equal(pred.grad, torch.zeros_like(pred))


# ----------------------------------------------------------------------------- BCE
LOGITS = [0.0, 2.0, -1.0, 5.0]
LABELS = [1.0, 0.0, 1.0, 255.0]


def _bce_inputs():
    return torch.tensor(LOGITS).view(1, 1, 2, 2), torch.tensor(LABELS).view(1, 1, 2, 2)


def test_balanced_bce_fixed_weight():
    pred, target = _bce_inputs()
    b0, b1, b2 = (_bce(x, y) for x, y in zip(LOGITS[:3], LABELS[:3]))
    expected = 0.95 * b0 + 0.05 * b1 + 0.95 * b2
    loss = MODELS.build(dict(type='BalancedBCELoss', pos_weight=0.95))
    assert loss(pred, target, ignore_index=255).item() == pytest.approx(expected / 3, rel=1e-5)
    total = MODELS.build(dict(type='BalancedBCELoss', pos_weight=0.95, avg_non_ignore=False))
    assert total(pred, target, ignore_index=255).item() == pytest.approx(expected / 4, rel=1e-5)


def test_balanced_bce_auto_and_plain():
    pred, target = _bce_inputs()
    b0, b1, b2 = (_bce(x, y) for x, y in zip(LOGITS[:3], LABELS[:3]))
    auto = MODELS.build(dict(type='BalancedBCELoss', pos_weight='auto'))
    w = 1 / 3  # one negative among three labelled pixels
    expected = (w * b0 + (1 - w) * b1 + w * b2) / 3
    assert auto(pred, target).item() == pytest.approx(expected, rel=1e-5)
    plain = MODELS.build(dict(type='BalancedBCELoss', pos_weight=None))
    assert plain(pred, target).item() == pytest.approx((b0 + b1 + b2) / 3, rel=1e-5)


def test_balanced_bce_bad_pos_weight():
    with pytest.raises(ValueError, match='pos_weight'):
        MODELS.build(dict(type='BalancedBCELoss', pos_weight=1.5))
    with pytest.raises(ValueError, match='pos_weight'):
        MODELS.build(dict(type='BalancedBCELoss', pos_weight='balanced'))
