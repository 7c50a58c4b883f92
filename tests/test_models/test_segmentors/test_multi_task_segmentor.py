"""MultiTaskSegmentor built from a config with a tiny mmseg backbone, on synthetic batches."""

import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.model import BaseModule
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmkem  # noqa: F401

init_default_scope('mmseg')


TASKS = ['semseg', 'depth', 'normals', 'edge']
C = 16
CFG = dict(
    type='MultiTaskSegmentor',
    tasks=TASKS,
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        stem_channels=8,
        base_channels=8,
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='BN'),
    ),
    feature_adapter=dict(
        type='FeatureAdapter', in_channels=[16, 32, 64], in_index=[1, 2, 3], out_index=2, channels=C
    ),
    task_encoder=dict(type='ViTBlocks', num_layers=2, num_heads=2, with_pos_embed=True),
    task_decoder=dict(type='ViTBlocks', num_layers=2, num_heads=2),
    heads=dict(type='DenseTaskHead', conv_channels=8),
    num_classes=dict(semseg=40),
)


def _build(**overrides):
    cfg = copy.deepcopy(CFG)
    cfg.update(overrides)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def _batch(batch_size=2, size=(64, 64), tasks=TASKS):
    """Images with structured targets (quadrant classes, depth ramp, per-half normals)."""
    height, width = size
    gen = torch.Generator().manual_seed(1)
    inputs = torch.randn(batch_size, 3, height, width, generator=gen)
    ys = torch.arange(height).view(-1, 1).expand(height, width)
    xs = torch.arange(width).view(1, -1).expand(height, width)
    samples = []
    for _ in range(batch_size):
        sem = ((xs >= width // 2).long() + 2 * (ys >= height // 2).long())[None]
        sem[:, :3] = 255
        depth = (1.0 + 3.0 * ys / height)[None].float().clone()
        depth[:, :, :5] = 0.0
        normals = torch.zeros(3, height, width)
        normals[2] = 1.0
        normals[:, :, : width // 2] = torch.tensor([0.6, 0.0, 0.8]).view(3, 1, 1)
        normals[:, -4:] = 0.0
        edge = ((xs == width // 2) | (ys == height // 2)).float()[None]
        edge[:, :2] = 255
        sample = SegDataSample()
        sample.set_data(
            dict(
                gt_sem_seg=PixelData(data=sem),
                gt_depth_map=PixelData(data=depth),
                gt_normals=PixelData(data=normals),
                gt_edge=PixelData(data=edge),
            )
        )
        sample.set_metainfo(
            dict(
                img_shape=size,
                pad_shape=size,
                ori_shape=size,
                padding_size=[0, 0, 0, 0],
                tasks=list(tasks),
            )
        )
        samples.append(sample)
    return inputs, samples


def _total(losses):
    return sum(v for k, v in losses.items() if 'loss' in k)


def test_loss_keys_finite_and_decreasing():
    model = _build()
    model.train()
    inputs, samples = _batch()
    losses = model.loss(inputs, samples)
    assert {k for k in losses if 'loss' in k} == {
        'semseg.loss_ce',
        'depth.loss_depth_l1',
        'normals.loss_normals',
        'edge.loss_edge_bce',
    }
    assert {k for k in losses if 'loss' not in k} == {f'{t}.weight' for t in TASKS}
    assert all(torch.isfinite(v).all() for v in losses.values())

    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.05, momentum=0.9
    )
    history, per_task = [], []
    for _ in range(10):
        losses = model.loss(inputs, samples)
        total = _total(losses)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        history.append(total.item())
        per_task.append({k: v.item() for k, v in losses.items() if 'loss' in k})
    assert all(torch.isfinite(torch.tensor(history)))
    assert history[-1] < 0.8 * history[0], history
    assert all(per_task[-1][k] < per_task[0][k] for k in per_task[0]), per_task


def test_frozen_backbone_gets_no_grad_and_stays_in_eval():
    model = _build()
    model.train()
    assert not model.backbone.training
    assert all(not m.training for m in model.backbone.modules())
    assert all(not p.requires_grad for p in model.backbone.parameters())
    bn = next(m for m in model.backbone.modules() if isinstance(m, nn.BatchNorm2d))
    running_mean = bn.running_mean.clone()
    inputs, samples = _batch()
    _total(model.loss(inputs, samples)).backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert torch.equal(bn.running_mean, running_mean)
    assert model.feature_adapter.proj.weight.grad is not None
    assert all(p.grad is not None for p in model.heads.parameters())

    trainable = _build(freeze_backbone=False)
    trainable.train()
    assert trainable.backbone.training
    _total(trainable.loss(inputs, samples)).backward()
    assert all(p.grad is not None for p in trainable.backbone.parameters())


def test_forward_tensor_mode_returns_raw_outputs_per_task():
    model = _build()
    inputs, _ = _batch()
    outputs = model(inputs, mode='tensor')
    assert list(outputs) == TASKS
    # stride 16 on 64 x 64 inputs: a 4 x 4 grid
    assert outputs['semseg'].shape == (2, 40, 4, 4)
    assert outputs['depth'].shape == (2, 1, 4, 4)
    assert outputs['normals'].shape == (2, 3, 4, 4)
    assert outputs['edge'].shape == (2, 1, 4, 4)


def test_predict_fields_shapes_dtypes_ranges_and_padding_removal():
    model = _build()
    model.eval()
    inputs, samples = _batch()
    for sample in samples:  # the image is the top-left 48 x 56 of the padded 64 x 64 input
        sample.set_metainfo(
            dict(img_shape=(48, 56), padding_size=[0, 8, 0, 16], ori_shape=(40, 44))
        )
    with torch.no_grad():
        results = model(inputs, copy.deepcopy(samples), mode='predict')
        raw = model.encode_decode(inputs, [s.metainfo for s in samples])
    assert len(results) == 2
    res = results[0]
    assert res.pred_sem_seg.data.shape == (1, 40, 44)
    assert res.pred_sem_seg.data.dtype == torch.long
    assert 0 <= res.pred_sem_seg.data.min() and res.pred_sem_seg.data.max() < 40
    assert res.pred_depth_map.data.shape == (1, 40, 44)
    assert res.pred_depth_map.data.dtype == torch.float32
    assert (res.pred_depth_map.data >= 0).all()
    assert res.pred_normals.data.shape == (3, 40, 44)
    assert torch.allclose(res.pred_normals.data.norm(dim=0), torch.ones(40, 44), atol=1e-5)
    assert res.pred_edge.data.shape == (1, 40, 44)
    assert ((res.pred_edge.data >= 0) & (res.pred_edge.data <= 1)).all()
    assert res.semseg_logits.data.shape == (40, 40, 44)
    # Reference: crop the padding away, then resize to ori_shape (mmseg's postprocess_result).
    cropped = raw['depth'][0:1, :, :48, :56]
    expected = F.interpolate(cropped, size=(40, 44), mode='bilinear', align_corners=False)[0]
    assert torch.allclose(res.depth_logits.data, expected, atol=1e-6)
    logits = F.interpolate(
        raw['semseg'][0:1, :, :48, :56], size=(40, 44), mode='bilinear', align_corners=False
    )
    assert torch.equal(res.pred_sem_seg.data, logits[0].argmax(0, keepdim=True))
    # Without data samples: predictions at the input size.
    with torch.no_grad():
        bare = model.predict(inputs)
    assert bare[0].pred_depth_map.data.shape == (1, 64, 64)

    no_logits = _build(test_cfg=dict(keep_logits=False))
    no_logits.eval()
    with torch.no_grad():
        res = no_logits.predict(inputs, copy.deepcopy(samples))[0]
    assert 'pred_sem_seg' in res and 'semseg_logits' not in res


def test_task_list_mismatches_name_the_culprit():
    heads = {t: dict(type='DenseTaskHead') for t in ['semseg', 'normals', 'edge', 'sal']}
    with pytest.raises(ValueError, match=r"heads .*missing \['depth'\], unexpected \['sal'\]"):
        _build(heads=heads)
    with pytest.raises(ValueError, match=r"loss_weighting.tasks .*missing \['edge'\]"):
        _build(loss_weighting=dict(type='FixedLossWeighting', tasks=TASKS[:3]))
    with pytest.raises(ValueError, match='repeat'):
        _build(tasks=['semseg', 'semseg'])
    with pytest.raises(KeyError, match='unknown task'):
        _build(tasks=['semseg', 'no_such_task'])
    model = _build()
    inputs, samples = _batch(tasks=['semseg', 'depth', 'normals'])
    with pytest.raises(ValueError, match=r"dataset provides .*missing \['edge'\]"):
        model.loss(inputs, samples)


def test_per_task_head_configs_and_weighting():
    heads = {t: dict(type='DenseTaskHead', num_convs=0) for t in TASKS}
    heads['semseg'] = dict(type='DenseTaskHead', out_channels=4, num_convs=0)
    model = _build(
        heads=heads,
        loss_weighting=dict(
            type='FixedLossWeighting', weights=dict(semseg=1, depth=2, normals=1, edge=50)
        ),
    )
    inputs, samples = _batch()
    for s in samples:
        s.gt_sem_seg.data[s.gt_sem_seg.data == 3] = 2
    assert model(inputs, mode='tensor')['semseg'].shape[1] == 4
    losses = model.loss(inputs, samples)
    assert losses['edge.weight'].item() == 50 and losses['depth.weight'].item() == 2
    # the weighted term equals the weight times the head's own loss
    shared = model.extract_feat(inputs)
    outputs = model.forward_tasks(shared)
    edge = model.heads['edge'].loss_by_feat(outputs['edge'], samples)['loss_edge_bce']
    assert losses['edge.loss_edge_bce'].item() == pytest.approx(50 * edge.item(), rel=1e-5)


@MODELS.register_module(name='ToyTestRegularizer', force=True)
class ToyTestRegularizer(BaseModule):
    """Adds ``lam * mean(Z^2)`` and records what it was called with."""

    def __init__(self, lam=0.5, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.lam = lam
        self.calls = []

    def forward(self, task_losses, shared):
        self.calls.append((task_losses, shared))
        return dict(loss_toy=self.lam * shared.pow(2).mean(), num_tasks=shared.new_tensor(4.0))


def test_regularizer_hook():
    model = _build(
        regularizer=dict(type='ToyTestRegularizer', lam=0.5),
        loss_weighting=dict(type='FixedLossWeighting', weights=[2, 1, 1, 1]),
    )
    model.train()
    inputs, samples = _batch()
    losses = model.loss(inputs, samples)
    assert 'regularizer.loss_toy' in losses and 'regularizer.num_tasks' in losses
    task_losses, shared = model.regularizer.calls[-1]
    assert list(task_losses) == TASKS
    # the regulariser sees the unweighted per-task losses and the shared representation
    assert task_losses['semseg'].item() == pytest.approx(losses['semseg.loss_ce'].item() / 2)
    with torch.no_grad():
        expected_shared = model.extract_feat(inputs)
    assert shared.shape == (2, C, 4, 4)
    assert torch.allclose(shared, expected_shared, atol=1e-6)
    assert losses['regularizer.loss_toy'].item() == pytest.approx(
        0.5 * expected_shared.pow(2).mean().item(), rel=1e-5
    )
    # its loss trains the model through Z
    model.zero_grad()
    losses['regularizer.loss_toy'].backward()
    assert model.feature_adapter.proj.weight.grad.abs().sum() > 0


def test_regularizer_input_selects_a_backbone_level():
    model = _build(
        freeze_backbone=False,
        regularizer=dict(type='ToyTestRegularizer', lam=0.5),
        regularizer_input=3,
    )
    model.train()
    inputs, samples = _batch()
    losses = model.loss(inputs, samples)
    _, z = model.regularizer.calls[-1]
    with torch.no_grad():
        expected = model.backbone(inputs)[3]
    assert z.shape == expected.shape and torch.allclose(z, expected, atol=1e-5)
    model.zero_grad()
    losses['regularizer.loss_toy'].backward()
    assert model.backbone.layer4[0].conv1.weight.grad.abs().sum() > 0
    assert model.feature_adapter.proj.weight.grad is None  # Z lies upstream of the adapter


@pytest.mark.parametrize(
    'kwargs, message',
    [
        (dict(regularizer_input='backbone'), "'adapter' or a backbone level"),
        (dict(regularizer_input=2), 'needs freeze_backbone=False'),
    ],
)
def test_regularizer_input_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _build(regularizer=dict(type='ToyTestRegularizer', lam=0.5), **kwargs)


@MODELS.register_module(name='ToyTestReverseNeck', force=True)
class ToyTestReverseNeck(BaseModule):
    """Returns the task maps in reverse order (an interaction that is easy to see)."""

    def forward(self, feats):
        assert isinstance(feats, list)
        return feats[::-1]


def test_interaction_is_called_between_encoders_and_decoders():
    plain = _build(task_decoder=None)
    swapped = _build(task_decoder=None, interaction=dict(type='ToyTestReverseNeck'))
    swapped.load_state_dict(plain.state_dict())
    inputs, _ = _batch()
    plain.eval()
    swapped.eval()
    with torch.no_grad():
        shared = plain.extract_feat(inputs)
        feats = [plain.task_encoders[t](shared) for t in TASKS]
        out = swapped(inputs, mode='tensor')
    # with the interaction, the depth head reads the normals encoder's map (reversed order)
    expected = plain.heads['depth'](feats[TASKS.index('normals')])
    assert torch.allclose(out['depth'], expected, atol=1e-6)


@pytest.mark.skipif(MODELS.get('KEM') is None, reason='KEM is not registered yet')
def test_paper_layout_swin_kem_from_config_trains():
    """Frozen Swin, ViT encoders, KEM, ViT decoders, built from an mmengine Config (ConfigDicts)."""
    cfg = Config(
        dict(
            model=dict(
                CFG,
                backbone=dict(
                    type='SwinTransformer',
                    embed_dims=16,
                    depths=(1, 1, 1, 1),
                    num_heads=(1, 2, 2, 4),
                    window_size=4,
                ),
                feature_adapter=dict(
                    type='FeatureAdapter',
                    in_channels=[32, 64, 128],
                    in_index=[1, 2, 3],
                    out_index=2,
                    channels=C,
                ),
                interaction=dict(type='KEM'),
                heads={task: dict(type='DenseTaskHead') for task in TASKS},
                loss_weighting=dict(type='UncertaintyLossWeighting'),
            )
        )
    )
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.train()
    inputs, samples = _batch()
    losses = model.loss(inputs, samples)
    assert {f'{t}.loss_log_var' for t in TASKS} <= set(losses)
    _total(losses).backward()
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert any(
        p.grad is not None and p.grad.abs().sum() > 0 for p in model.interaction.parameters()
    )
    assert all(p.grad is None for p in model.backbone.parameters())
    model.eval()
    with torch.no_grad():
        result = model.predict(inputs, samples)[0]
    assert result.pred_sem_seg.data.shape == (1, 64, 64)


@pytest.mark.skipif(
    MODELS.get('MultiTaskDataPreProcessor') is None,
    reason='the data preprocessor is not registered yet',
)
def test_train_step_through_the_data_preprocessor():
    from mmengine.optim import OptimWrapper

    model = _build(
        data_preprocessor=dict(
            type='MultiTaskDataPreProcessor', mean=[0, 0, 0], std=[1, 1, 1], size_divisor=32
        )
    )
    _, samples = _batch(size=(60, 50))
    data = dict(
        inputs=[torch.randint(0, 255, (3, 60, 50), dtype=torch.uint8) for _ in samples],
        data_samples=samples,
    )
    processed = model.data_preprocessor(copy.deepcopy(data), True)
    assert processed['inputs'].shape == (2, 3, 64, 64)
    depth = processed['data_samples'][0].gt_depth_map.data
    assert depth.shape == (1, 64, 64) and depth[:, 60:].eq(0).all()  # padding: invalid depth
    optim = OptimWrapper(torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0))
    model.train()
    log_vars = model.train_step(data, optim)
    assert 'loss' in log_vars and torch.isfinite(log_vars['loss'])


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_non_finite_loss_names_the_task_and_leaves_the_weights_untouched(bad):
    from mmengine.logging import MessageHub
    from mmengine.optim import OptimWrapper

    from mmkem.models.segmentors import NonFiniteLossError

    model = _build()
    model.train()
    inputs, samples = _batch()
    # A diverged depth head (the same happens after a too-large step or an AMP overflow).
    with torch.no_grad():
        next(model.heads['depth'].parameters()).view(-1)[0] = bad
    data = dict(inputs=inputs, data_samples=samples)
    params = [p for p in model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    MessageHub.get_current_instance().update_info('iter', 41)
    with pytest.raises(NonFiniteLossError) as info:
        model.train_step(data, OptimWrapper(torch.optim.SGD(params, lr=0.1)))
    message = str(info.value)
    assert info.value.tasks == ['depth']
    assert "at iteration 42 in task(s) ['depth']: depth.loss_depth_l1=" in message
    assert 'semseg.loss_ce=' in message and '--resume' in message
    for p, b in zip(params, before):
        torch.testing.assert_close(p, b, rtol=0, atol=0, equal_nan=True)


def _nan_depth_model(**overrides):
    model = _build(**overrides)
    model.train()
    with torch.no_grad():
        next(model.heads['depth'].parameters()).view(-1)[0] = float('nan')
    return model


def test_non_finite_loss_on_another_process_stops_this_one_too(monkeypatch):
    """Every process must stop at the same step: one that raised alone would leave the others
    waiting in the gradient all-reduce. The flag is all-reduced (min) before deciding."""
    from mmkem.models.segmentors import NonFiniteLossError, non_finite_loss

    reduced = []

    def all_reduce(flag, op):  # another process saw a NaN
        reduced.append(op)
        flag.zero_()

    monkeypatch.setattr(non_finite_loss, 'get_world_size', lambda: 2)
    monkeypatch.setattr(non_finite_loss, 'all_reduce', all_reduce)
    model = _build()
    model.train()
    inputs, samples = _batch()
    losses = model.loss(inputs, samples)
    with pytest.raises(NonFiniteLossError, match='on another process') as info:
        model.parse_losses(losses)
    assert reduced == ['min'] and info.value.tasks == []


def test_fp16_amp_leaves_non_finite_steps_to_the_scaler_then_stops(monkeypatch):
    """Under float16 autocast a NaN/Inf loss is usually an overflow that GradScaler skips: up to
    amp_non_finite_patience steps in a row pass (with a warning), then the run stops."""
    from mmkem.models.segmentors import NonFiniteLossError, non_finite_loss
    from mmkem.models.segmentors import multi_task_segmentor as mts

    model = _nan_depth_model(amp_non_finite_patience=2)
    inputs, samples = _batch()
    monkeypatch.setattr(mts, 'fp16_autocast_enabled', lambda device_type: True)
    for _ in range(2):
        loss, _ = model.parse_losses(model.loss(inputs, samples))
        assert not torch.isfinite(loss)
    with pytest.raises(NonFiniteLossError, match='3 float16 AMP steps in a row'):
        model.parse_losses(model.loss(inputs, samples))
    # a finite step resets the count; without float16 autocast the first bad step stops
    assert non_finite_loss.fp16_autocast_enabled('cpu') is False
    monkeypatch.setattr(mts, 'fp16_autocast_enabled', lambda device_type: False)
    with pytest.raises(NonFiniteLossError):
        model.parse_losses(model.loss(inputs, samples))
    with pytest.raises(ValueError, match='amp_non_finite_patience must be >= 0'):
        _build(amp_non_finite_patience=-1)


def test_fp16_autocast_is_detected_on_cpu():
    from mmkem.models.segmentors.non_finite_loss import fp16_autocast_enabled

    with torch.autocast('cpu', dtype=torch.float16):
        assert fp16_autocast_enabled('cpu')
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert not fp16_autocast_enabled('cpu')
    assert not fp16_autocast_enabled('cpu')
