"""MultiTaskSegmentor inference: test_cfg checks, flip TTA per task geometry, sliding windows."""

import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmkem  # noqa: F401
from mmkem.models.segmentors import check_test_cfg, slide_windows

init_default_scope('mmseg')

TASKS = ['semseg', 'depth', 'normals', 'edge']
CFG = dict(
    type='MultiTaskSegmentor',
    tasks=TASKS,
    backbone=dict(
        type='ResNetV1c', depth=18, stem_channels=8, base_channels=8, out_indices=(0, 1, 2, 3)
    ),
    feature_adapter=dict(
        type='FeatureAdapter', in_channels=[32, 64], in_index=[2, 3], out_index=2, channels=8
    ),
    interaction=dict(type='KEM', num_slots=4, topk=2),
    heads=dict(type='DenseTaskHead', conv_channels=8),
    num_classes=dict(semseg=3),
)


def _build(test_cfg=None, forward=None):
    cfg = copy.deepcopy(CFG)
    cfg['test_cfg'] = test_cfg
    torch.manual_seed(0)
    model = MODELS.build(cfg).eval()
    if forward is not None:
        model._forward = forward  # raw outputs at the input size: encode_decode keeps them
    return model


def _samples(inputs):
    samples = []
    for _ in range(inputs.shape[0]):
        sample = SegDataSample()
        shape = tuple(inputs.shape[-2:])
        sample.set_metainfo(dict(ori_shape=shape, img_shape=shape, padding_size=[0, 0, 0, 0]))
        samples.append(sample)
    return samples


def _predict(model, inputs):
    with torch.no_grad():
        samples = model.predict(inputs, _samples(inputs))
    return {
        task: torch.stack([s.get(model.specs[task].pred_field).data for s in samples])
        for task in model.tasks
    }


def _dx(image):
    """Central horizontal difference with replicated borders: mirrored and negated by a flip."""
    padded = F.pad(image, (1, 1, 0, 0), mode='replicate')
    return padded[..., 2:] - padded[..., :-2]


def _equivariant(inputs):
    """Outputs of the flipped input = the flipped outputs (normals: x negated): pointwise maps
    of the pixels, and normals with x from a horizontal difference."""
    grey = inputs.mean(1, keepdim=True)
    semseg = torch.cat([inputs[:, :1], inputs[:, 1:2] * 2, -inputs[:, 2:3]], dim=1)
    normals = torch.cat([_dx(grey), 0.5 * grey, torch.ones_like(grey)], dim=1)
    return dict(semseg=semseg, depth=grey.exp(), normals=normals, edge=grey * 3 - 0.2)


def _inputs(size=(16, 24), batch=2, seed=0):
    return torch.randn(batch, 3, *size, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------ test_cfg


def test_unknown_test_cfg_key_is_an_error_naming_it():
    with pytest.raises(ValueError, match=r"\['crop'\].*known keys"):
        _build(test_cfg=dict(mode='slide', crop=(8, 8)))
    with pytest.raises(ValueError, match='needs test_cfg.crop_size'):
        _build(test_cfg=dict(mode='slide', stride=(8, 8)))
    with pytest.raises(ValueError, match='test_cfg.mode'):
        check_test_cfg(dict(mode='sliding'))
    with pytest.raises(ValueError, match='flip_direction'):
        check_test_cfg(dict(flip=True, flip_direction='sideways'))
    with pytest.raises(ValueError, match='test_cfg.flip must be True or False'):
        check_test_cfg(dict(flip='yes'))
    cfg = check_test_cfg(dict(mode='slide', crop_size=8, stride=(4, 6)))
    assert cfg['crop_size'] == (8, 8) and cfg['stride'] == (4, 6)
    assert cfg['flip'] is False and cfg['flip_direction'] == ['horizontal']
    assert check_test_cfg(None)['mode'] == 'whole'  # the configs' test_cfg=dict(mode='whole')


def test_slide_windows_cover_the_input_as_mmseg():
    windows = slide_windows(10, 13, (4, 6), (3, 5))
    assert windows[0] == (0, 4, 0, 6) and windows[-1] == (6, 10, 7, 13)
    covered = torch.zeros(10, 13)
    for y1, y2, x1, x2 in windows:
        assert (y2 - y1, x2 - x1) == (4, 6)
        covered[y1:y2, x1:x2] += 1
    assert bool((covered > 0).all())
    assert slide_windows(5, 7, (8, 8), (4, 4)) == [(0, 5, 0, 7)]  # a larger window is clipped


# ------------------------------------------------------------------ flip TTA


def test_flip_tta_undoes_the_flip_per_task():
    """A model whose output on the mirrored image is the mirror of its output (normals: x
    negated) predicts the same with and without flip TTA."""
    inputs = _inputs()
    plain = _predict(_build(forward=_equivariant), inputs)
    tta = _predict(_build(test_cfg=dict(flip=True), forward=_equivariant), inputs)
    assert torch.equal(tta['semseg'], plain['semseg'])
    for task in ('depth', 'normals', 'edge'):
        torch.testing.assert_close(tta[task], plain[task], rtol=1e-5, atol=1e-6)
    # the normals' x is not trivially zero: forgetting to negate it would change the result
    assert plain['normals'][:, 0].abs().max() > 0.1
    wrong = _equivariant(inputs.flip(-1))['normals'].flip(-1)  # mirrored back without negation
    assert not torch.allclose(F.normalize(wrong, dim=1), plain['normals'], atol=1e-2)


def test_flip_tta_averages_what_the_kind_says():
    """A model that ignores the image: depth stays its value in metres, a constant x of the
    normals cancels with its flipped (negated) view, y and z stay; all flips together."""

    def constant(inputs):
        b, _, h, w = inputs.shape
        ones = inputs.new_ones(b, 1, h, w)
        return dict(
            semseg=torch.cat([ones, 2 * ones, 0 * ones], 1),
            depth=2.5 * ones,
            normals=torch.cat([0.6 * ones, 0 * ones, 0.8 * ones], 1),
            edge=0 * ones,
        )

    inputs = _inputs(batch=1)
    out = _predict(_build(test_cfg=dict(flip=True), forward=constant), inputs)
    torch.testing.assert_close(out['depth'], torch.full_like(out['depth'], 2.5))
    expected = torch.tensor([0.0, 0.0, 1.0]).view(1, 3, 1, 1).expand_as(out['normals'])
    torch.testing.assert_close(out['normals'], expected)
    assert bool((out['semseg'] == 1).all())
    both = _build(
        test_cfg=dict(flip=True, flip_direction=['horizontal', 'vertical']), forward=constant
    )
    raw = both.inference(inputs)
    # views: identity (+x), horizontal (-x), vertical (+x): x averages to 0.6 / 3, z stays
    normals = raw['normals'][0, :, 0, 0]
    torch.testing.assert_close(normals, torch.tensor([0.2, 0.0, 0.8]))


def test_several_predictions_of_normals_count_once_each():
    """Merged normals are unit vectors averaged (the kind's merge), whatever each view's length."""

    def lengths(inputs):
        b, _, h, w = inputs.shape
        ones = inputs.new_ones(b, 1, h, w)
        # x of +10 in the left half, -1 in the right: flipping swaps the halves' vectors
        left = torch.zeros(1, 1, 1, w)
        left[..., : w // 2] = 1
        x = 10 * left - (1 - left)
        return dict(
            semseg=torch.cat([ones, ones, ones], 1),
            depth=ones,
            normals=torch.cat([x * ones, 0 * ones, ones], 1),
            edge=ones,
        )

    model = _build(test_cfg=dict(flip=True), forward=lengths)
    raw = model.inference(_inputs(size=(4, 8), batch=1))
    # unit vectors (10, 0, 1)/|.| and, flipped back and negated, (1, 0, 1)/|.| on the left half
    a = torch.tensor([10.0, 0.0, 1.0]) / torch.tensor([10.0, 0.0, 1.0]).norm()
    b = torch.tensor([1.0, 0.0, 1.0]) / 2**0.5
    torch.testing.assert_close(raw['normals'][0, :, 0, 0], (a + b) / 2)


# ------------------------------------------------------------------ sliding window


def test_slide_with_one_window_is_whole_inference():
    inputs = _inputs(size=(32, 32))
    whole = _build()
    slide = _build(test_cfg=dict(mode='slide', crop_size=(40, 48), stride=(20, 20)))
    with torch.no_grad():
        a, b = whole.inference(inputs), slide.inference(inputs)
    for task in TASKS:
        assert torch.equal(a[task], b[task]), task
    for task, pred in _predict(slide, inputs).items():
        assert torch.equal(pred, _predict(whole, inputs)[task]), task


def test_slide_stitches_overlapping_windows():
    """Pointwise outputs: the stitched map of overlapping windows is the whole map (normals: the
    same directions); window-relative outputs: each pixel is the mean over its windows."""
    inputs = _inputs(size=(12, 20))
    slide_cfg = dict(mode='slide', crop_size=(8, 8), stride=(4, 6))
    slide = _predict(_build(test_cfg=slide_cfg, forward=_pointwise), inputs)
    whole = _predict(_build(forward=_pointwise), inputs)
    assert slide['depth'].shape == (2, 1, 12, 20)
    assert torch.equal(slide['semseg'], whole['semseg'])
    for task in ('depth', 'normals', 'edge'):
        torch.testing.assert_close(slide[task], whole[task], rtol=1e-5, atol=1e-6)

    def column(inputs):  # the column index inside the window
        b, _, h, w = inputs.shape
        x = torch.arange(w, dtype=inputs.dtype).view(1, 1, 1, w).expand(b, 1, h, w)
        return dict(semseg=x.repeat(1, 3, 1, 1), depth=x, normals=x.repeat(1, 3, 1, 1), edge=x)

    raw = _build(test_cfg=slide_cfg, forward=column).inference(inputs)['depth'][0, 0]
    expected = torch.zeros(12, 20)
    count = torch.zeros(12, 20)
    for y1, y2, x1, x2 in slide_windows(12, 20, (8, 8), (4, 6)):
        expected[y1:y2, x1:x2] += torch.arange(x2 - x1, dtype=torch.float32)
        count[y1:y2, x1:x2] += 1
    torch.testing.assert_close(raw, expected / count)
    assert raw[0, 7].item() == pytest.approx((7 + 1) / 2)  # windows at x=0 and x=6 overlap


def _pointwise(inputs):
    """Every output pixel from its own input pixel only (normals included)."""
    grey = inputs.mean(1, keepdim=True)
    semseg = torch.cat([inputs[:, :1], inputs[:, 1:2] * 2, -inputs[:, 2:3]], dim=1)
    normals = torch.cat([inputs[:, :1], 0.5 * grey, torch.ones_like(grey) * 2], dim=1)
    return dict(semseg=semseg, depth=grey.exp(), normals=normals, edge=grey * 3 - 0.2)


def test_slide_and_flip_together_on_a_real_model():
    inputs = _inputs(size=(32, 48), batch=1)
    model = _build(test_cfg=dict(mode='slide', crop_size=(32, 32), stride=(16, 16), flip=True))
    preds = _predict(model, inputs)
    assert preds['semseg'].shape == (1, 1, 32, 48) and preds['semseg'].dtype == torch.long
    torch.testing.assert_close(
        preds['normals'].norm(dim=1), torch.ones(1, 32, 48), rtol=1e-5, atol=1e-5
    )
    assert bool((preds['edge'] >= 0).all() and (preds['edge'] <= 1).all())
    assert bool((preds['depth'] >= 0).all())
