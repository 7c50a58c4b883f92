"""The table of kinds: the built-in entries, and a new kind and task added in one place that load,
flip, pad, train a step and evaluate without an edit anywhere else."""

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmseg.registry import METRICS, MODELS, TRANSFORMS

import mmkem  # noqa: F401
from mmkem.structures import (
    TASK_KINDS,
    TASK_SPECS,
    KindMetrics,
    TaskKind,
    TaskSpec,
    get_kind,
    get_task_spec,
    metric_directions,
    register_kind,
    register_task,
)
from mmkem.visualization.colorize import colorize_probability

init_default_scope('mmseg')


def test_builtin_kinds_and_tasks():
    assert set(TASK_KINDS) >= {'segmentation', 'depth', 'normals', 'saliency', 'edge'}
    for task, kind in dict(
        semseg='segmentation',
        human_parts='segmentation',
        depth='depth',
        normals='normals',
        sal='saliency',
        edge='edge',
    ).items():
        assert get_task_spec(task).kind == kind
    # facts stated once, read from the kinds
    assert get_kind('normals').flip_negate['horizontal'] == (0,)
    assert get_kind('depth').scales_with_zoom and not get_kind('normals').scales_with_zoom
    assert get_task_spec('depth').lower_is_better and not get_task_spec('semseg').lower_is_better
    assert get_task_spec('semseg').has_classes and get_kind('segmentation').channels is None
    assert get_task_spec('depth').pad_value == 0 and get_task_spec('semseg').pad_value == 255
    directions = metric_directions()
    assert directions['rmse'] and directions['mean'] and not directions['mIoU']


def _mae_stats(pred, gt, spec, num_classes, options):
    valid = gt > 0
    return dict(abs_err=float(np.abs(pred - gt)[valid].sum()), num_valid=int(valid.sum()))


def _mae_scores(stacked, spec, num_classes, options):
    return dict(mae=float(stacked['abs_err'].sum() / max(stacked['num_valid'].sum(), 1)))


TOY_KIND = TaskKind(
    name='toy_intensity',
    labels=False,
    channels=1,
    pad_value=0,
    ignore_index=None,
    interpolation='bilinear',
    decoders={'.npy': 'depth_npy'},  # finite, non-negative (H, W) floats, 0 = invalid
    flip_negate={'horizontal': (0,)},  # a signed horizontal quantity, to see the flip
    loss=dict(type='DepthL1Loss', loss_name='loss_toy_l1'),
    to_target=lambda gt: gt.float(),
    activate=lambda out: out,
    metrics=KindMetrics(
        names=lambda options: ('mae',),
        lower_is_better=('mae',),
        main='mae',
        stats=_mae_stats,
        scores=_mae_scores,
    ),
    colorize=lambda data, palette=None, value_range=None, is_gt=False: colorize_probability(data),
    synthetic=lambda gen, channels, h, w: 0.5 + torch.rand(1, h, w, generator=gen),
)


@pytest.fixture
def toy_task():
    register_kind(TOY_KIND)
    spec = register_task(TaskSpec('toy', 'toy_intensity', 'gt_toy', 'pred_toy'))
    try:
        yield spec
    finally:
        TASK_SPECS.pop('toy')
        TASK_KINDS.pop('toy_intensity')


def test_a_new_kind_and_task_flow_through_every_room(tmp_path, toy_task):
    # loading (the kind's decoder), flip (its flip rule), packing (float), padding (its value)
    value = np.array([[1.0, 2.0, 0.0, 4.0]], np.float32)
    np.save(tmp_path / 't.npy', value)
    np.save(tmp_path / 'd.npy', value)
    pipeline = [
        TRANSFORMS.build(dict(type='LoadMultiTaskAnnotations', tasks=['depth', 'toy'])),
        TRANSFORMS.build(dict(type='MultiTaskRandomFlip', prob=1.0)),
        TRANSFORMS.build(dict(type='PackMultiTaskInputs')),
    ]
    results = dict(
        img=np.zeros((1, 4, 3), np.uint8),
        ori_shape=(1, 4),
        depth_path=str(tmp_path / 'd.npy'),
        toy_path=str(tmp_path / 't.npy'),
        tasks=['depth', 'toy'],
    )
    for transform in pipeline:
        results = transform(results)
    sample = results['data_samples']
    assert sample.gt_toy.data.tolist() == [[[-4.0, -0.0, -2.0, -1.0]]]  # flipped and negated
    assert sample.gt_depth_map.data.tolist() == [[[4.0, 0.0, 2.0, 1.0]]]  # flipped only

    # a model with the new task trains a step and predicts it
    model = MODELS.build(
        dict(
            type='MultiTaskSegmentor',
            tasks=['depth', 'toy'],
            data_preprocessor=dict(type='MultiTaskDataPreProcessor', size_divisor=8),
            backbone=dict(
                type='ResNetV1c',
                depth=18,
                stem_channels=8,
                base_channels=8,
                out_indices=(0, 1, 2, 3),
            ),
            feature_adapter=dict(
                type='FeatureAdapter',
                in_channels=[32, 64],
                in_index=[2, 3],
                out_index=2,
                channels=8,
            ),
            interaction=dict(type='KEM', num_slots=4, topk=2),
        )
    )
    gen = torch.Generator().manual_seed(0)
    batch = []
    for _ in range(2):
        sample = sample.clone()
        sample.set_metainfo(dict(tasks=['depth', 'toy'], img_shape=(12, 10), ori_shape=(12, 10)))
        for task in ('depth', 'toy'):
            spec = get_task_spec(task)
            gt = spec.task_kind.synthetic(gen, 1, 12, 10)
            sample.set_field(type(sample.gt_toy)(data=gt), spec.gt_field)
        batch.append(
            dict(inputs=torch.randint(0, 255, (3, 12, 10), generator=gen), data_samples=sample)
        )
    optim = OptimWrapper(
        torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    )
    model.train()
    log = model.train_step(pseudo_collate(batch), optim)
    assert 'toy.loss_toy_l1' in log and torch.isfinite(log['toy.loss_toy_l1'])
    model.eval()
    outputs = model.val_step(pseudo_collate(batch))
    assert outputs[0].pred_toy.data.shape == (1, 12, 10)

    # the metric evaluates it with the kind's functions and direction
    metric = METRICS.build(
        dict(type='MultiTaskMetric', tasks=['depth', 'toy'], references=dict(toy=1.0))
    )
    metric.process({}, [o.to_dict() for o in outputs])
    scores = metric.evaluate(2)
    assert set(scores) >= {'toy/mae', 'depth/rmse', 'delta_m'}
    assert metric.lower_is_better('toy', 'mae')

    # flip TTA with the kind's flip rule, sliding windows, and its prediction files (.npy: the
    # kind declares no format of its own)
    from mmkem.utils.prediction_io import load_prediction, save_prediction

    inputs = torch.randn(1, 3, 12, 10, generator=gen)
    raw = model.inference(inputs)
    model.test_cfg.update(flip=True)
    flipped = model._mode_inference(inputs.flip(-1))
    expected = (raw['toy'] - flipped['toy'].flip(-1)) / 2  # mirrored back and negated
    torch.testing.assert_close(model.inference(inputs)['toy'], expected)
    model.test_cfg.update(flip=False, mode='slide', crop_size=(8, 8), stride=(4, 4))
    assert model.inference(inputs)['toy'].shape == (1, 1, 12, 10)
    pred = outputs[0].pred_toy.data.detach().numpy()
    assert save_prediction('toy', pred, str(tmp_path / 'out'), 'a')[0].endswith('toy/a.npy')
    np.testing.assert_array_equal(load_prediction('toy', str(tmp_path / 'out'), 'a'), pred)
