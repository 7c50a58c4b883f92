"""MultiTaskMetric built through the registry, on hand-computed numbers."""

import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample

import mmkem  # noqa: F401  (registers MultiTaskMetric)
from mmkem.datasets import HUMAN_PARTS_CLASSES
from mmkem.evaluation.metrics import multi_task_metric as mtm

init_default_scope('mmseg')

# semseg, 3 classes (see test_functional): mIoU (1/2 + 2/3 + 1)/3, aAcc 4/5
GT_SEG = [[0, 0, 1], [1, 2, 255]]
PRED_SEG = [[0, 1, 1], [1, 2, 2]]
MIOU = (1 / 2 + 2 / 3 + 1) / 3 * 100


def _px(array, dtype=torch.float32):
    return PixelData(data=torch.as_tensor(np.asarray(array), dtype=dtype))


def _nyud_samples():
    """Two SegDataSamples with semseg (3 classes) and depth. Squared depth errors: 1.25 over 3 valid
    pixels in the first, 4 over 6 in the second."""
    s1 = SegDataSample(metainfo=dict(img_path='a.png'))
    s1.gt_sem_seg = _px([GT_SEG], torch.long)
    s1.pred_sem_seg = _px([PRED_SEG], torch.long)
    s1.gt_depth_map = _px([[[1.0, 2.0, 0.0], [4.0, 0.0, 0.0]]])
    s1.pred_depth_map = _px([[[1.5, 2.0, 9.0], [3.0, 9.0, 9.0]]])
    s2 = SegDataSample(metainfo=dict(img_path='b.png'))
    s2.gt_sem_seg = _px([[[0, 0, 0], [2, 2, 2]]], torch.long)
    s2.pred_sem_seg = _px([[[0, 0, 0], [2, 2, 1]]], torch.long)
    s2.gt_depth_map = _px(np.full((1, 2, 3), 2.0))
    s2.pred_depth_map = _px(np.array([[[2.0, 2.0, 2.0], [2.0, 2.0, 4.0]]]))
    return [s1, s2]


def _build(**kwargs):
    cfg = dict(type='MultiTaskMetric', tasks=['semseg', 'depth'], num_classes=dict(semseg=3))
    cfg.update(kwargs)
    return METRICS.build(cfg)


def _run(metric, batches):
    for batch in batches:
        metric.process({}, [s.to_dict() for s in batch])
    return metric.evaluate(sum(len(b) for b in batches))


def test_nyud_values_by_hand_and_delta_m():
    metric = _build(references=dict(semseg=50.0, depth=1.0))
    samples = _nyud_samples()
    out = _run(metric, [samples])
    # semseg over both images: class 0: I 1+3, P 1+3, G 2+3 -> 4/5; class 1: I 2, P 3+1, G 2 -> 2/4;
    # class 2: I 1+2, P 1+2, G 1+3 -> 3/4
    assert out['semseg/mIoU'] == pytest.approx((4 / 5 + 2 / 4 + 3 / 4) / 3 * 100)
    assert out['semseg/aAcc'] == pytest.approx((4 + 5) / (5 + 6) * 100)
    assert out['depth/rmse'] == pytest.approx(math.sqrt((1.25 + 4) / (3 + 6)))
    gains = [(out['semseg/mIoU'] - 50) / 50, -(out['depth/rmse'] - 1.0) / 1.0]
    assert out['delta_m'] == pytest.approx(np.mean(gains) * 100)
    assert list(out)[:2] == ['semseg/mIoU', 'semseg/mAcc']  # the main metric comes first


def test_delta_p_next_to_delta_m_by_hand():
    refs = {'semseg/mIoU': 50.0, 'semseg/aAcc': 80.0, 'depth/rmse': 1.0}
    out = _run(
        _build(references=dict(semseg=50.0, depth=1.0), delta_p_references=refs), [_nyud_samples()]
    )
    miou = (4 / 5 + 2 / 4 + 3 / 4) / 3 * 100
    aacc = (4 + 5) / (5 + 6) * 100
    rmse = math.sqrt((1.25 + 4) / (3 + 6))
    # within semseg first (two metrics), then across the two tasks
    semseg = ((miou - 50) / 50 + (aacc - 80) / 80) / 2
    depth = -(rmse - 1.0) / 1.0
    assert out['delta_p'] == pytest.approx((semseg + depth) / 2 * 100)
    assert out['delta_m'] == pytest.approx(((miou - 50) / 50 + depth) / 2 * 100)
    with pytest.raises(ValueError, match='delta_p_references key'):
        _build(delta_p_references={'depth/mIoU': 1.0})


def test_per_image_depth_rmse():
    out = _run(_build(depth_rmse='per_image'), [_nyud_samples()])
    assert out['depth/rmse'] == pytest.approx((math.sqrt(1.25 / 3) + math.sqrt(4 / 6)) / 2)


def test_multi_batch_equals_single_batch_and_evaluator_path():
    samples = _nyud_samples()
    one = _run(_build(), [samples])
    two = _run(_build(), [samples[:1], samples[1:]])
    assert one == pytest.approx(two)
    evaluator = Evaluator(_build())
    evaluator.process(data_samples=samples)  # SegDataSamples, converted to dicts by mmengine
    assert evaluator.evaluate(2) == pytest.approx(one)


def test_segdatasample_objects_are_accepted_directly():
    metric = _build()
    metric.process({}, _nyud_samples())
    out = metric.evaluate(2)
    assert out == pytest.approx(_run(_build(), [_nyud_samples()]))


def test_normals_saliency_edge_and_human_parts():
    tasks = ['normals', 'sal', 'edge', 'human_parts']
    metric = METRICS.build(
        dict(
            type='MultiTaskMetric',
            tasks=tasks,
            saliency_thresholds=(0.25, 0.5, 0.75),
            edge_thresholds=(0.25, 0.5, 0.75),
            edge_nms=False,
            edge_thin=False,
        )
    )
    # The number of human-part classes (7) comes from the dataset, as mmseg's IoUMetric's.
    metric.dataset_meta = dict(human_parts_classes=HUMAN_PARTS_CLASSES)
    gt_n = np.array([[0, 0, 1], [0, 0, 1], [0, 1, 0], [0, 0, 0]], float).T.reshape(3, 1, 4)
    pred_n = np.array([[0, 0, 2], [1, 0, 0], [0, 1, 1], [1, 1, 1]], float).T.reshape(3, 1, 4)
    prob = np.array([[[0.9, 0.6, 0.3, 0.1, 0.8]]])
    binary = np.array([[[1, 1, 1, 0, 0]]])
    parts_gt = np.array([[[0, 1, 1, 255]]])
    parts_pred = np.array([[[0, 1, 0, 3]]])
    with_people = dict(
        gt_normals=dict(data=torch.tensor(gt_n)),
        pred_normals=dict(data=torch.tensor(pred_n)),
        gt_sal=dict(data=torch.tensor(binary)),
        pred_sal=dict(data=torch.tensor(prob)),
        gt_edge=dict(data=torch.tensor(binary)),
        pred_edge=dict(data=torch.tensor(prob)),
        gt_human_parts=dict(data=torch.tensor(parts_gt)),
        pred_human_parts=dict(data=torch.tensor(parts_pred)),
    )
    no_people = dict(with_people, gt_human_parts=dict(data=torch.full((1, 1, 4), 255)))
    metric.process({}, [with_people, no_people])
    out = metric.evaluate(2)
    assert out['normals/mean'] == pytest.approx(45.0)
    assert out['normals/median'] == pytest.approx(45.0, abs=0.1)
    assert out['normals/11.25'] == pytest.approx(100 / 3)
    # saliency: t=0.25 -> tp 3, fp 1, fn 0 in each image: P 3/4, R 1 -> F_0.3 = 0.975/1.225;
    # foreground IoU 3/4 (t=0.5: 2/4, t=0.75: 1/4)
    assert out['sal/maxF'] == pytest.approx(0.975 / 1.225 * 100)
    assert out['sal/mIoU'] == pytest.approx(75.0)
    # edges, pixels 1/26 of a diagonal apart are beyond the tolerance: exact matches only;
    # t=0.25: 4 predicted, 3 matched of 3 -> P 3/4, R 1 (the keys name the cheaper protocol)
    assert out['edge/odsF_t3_nonms_nothin'] == pytest.approx(2 * 0.75 / 1.75 * 100)
    assert out['edge/oisF_t3_nonms_nothin'] == pytest.approx(2 * 0.75 / 1.75 * 100)
    assert 'edge/odsF' not in out
    # parts, only the image with people counts (pixel 4 is ignored):
    # class 0: I 1, P 2, G 1 -> 1/2;  class 1: I 1, P 1, G 2 -> 1/2
    assert out['human_parts/mIoU'] == pytest.approx(50.0)
    assert out['human_parts/aAcc'] == pytest.approx(200 / 3)
    assert 'delta_m' not in out


def test_main_metrics_override_for_pascal_saliency():
    metric = METRICS.build(
        dict(
            type='MultiTaskMetric',
            tasks=['sal'],
            main_metrics=dict(sal='mIoU'),
            references=dict(sal=50.0),
            saliency_thresholds=(0.5,),
        )
    )
    metric.process(
        {},
        [
            dict(
                gt_sal=dict(data=torch.tensor([[[1, 0]]])),
                pred_sal=dict(data=torch.tensor([[[0.9, 0.1]]])),
            )
        ],
    )
    out = metric.evaluate(1)
    assert out['sal/mIoU'] == pytest.approx(100.0)
    assert out['delta_m'] == pytest.approx(100.0)  # (100 - 50) / 50


def test_table_shows_values_and_references_side_by_side():
    metric = _build(references=dict(semseg=47.96, depth=0.4972))
    out = _run(metric, [_nyud_samples()])
    table = metric.format_table(out)
    assert '47.96' in table and '0.4972' in table and 'delta_m' in table
    row = next(line for line in table.splitlines() if 'depth/rmse' in line)
    assert 'lower' in row and f'{out["depth/rmse"]:.4f}' in row


def test_classwise_table_uses_dataset_class_names(monkeypatch):
    logged = []
    monkeypatch.setattr(mtm, 'print_log', lambda msg, logger=None: logged.append(msg))
    metric = _build(classwise=True)
    metric.dataset_meta = dict(classes=('wall', 'floor', 'chair'))
    _run(metric, [_nyud_samples()])
    row = next(line for msg in logged for line in msg.splitlines() if 'floor' in line)
    assert '50.00' in row  # class 1: I 2 / U 4


def test_argument_errors_name_the_argument():
    with pytest.raises(ValueError, match='references names task'):
        _build(references=dict(normals=20.0))
    with pytest.raises(ValueError, match='main metric'):
        _build(main_metrics=dict(depth='mIoU'))
    with pytest.raises(ValueError, match='not a segmentation'):
        _build(num_classes=dict(depth=3))
    with pytest.raises(ValueError, match='depth_rmse'):
        _build(depth_rmse='mean')
    with pytest.raises(KeyError, match='unknown task'):
        _build(tasks=['semseg', 'disparity'])
    with pytest.raises(ValueError, match='non-zero'):
        _build(references=dict(depth=0.0))


def test_sample_errors_name_the_task_and_field():
    metric = _build()
    sample = _nyud_samples()[0].to_dict()
    del sample['pred_depth_map']
    with pytest.raises(KeyError, match="'pred_depth_map'.*'depth'"):
        metric.process({}, [sample])
    sample = _nyud_samples()[0].to_dict()
    sample['pred_depth_map'] = dict(data=torch.zeros(1, 4, 4))
    with pytest.raises(ValueError, match="task 'depth'.*shape"):
        metric.process({}, [sample])
