"""SortOfCLEVRMetric against hand-counted accuracies."""

import math

import torch
from mmengine.registry import init_default_scope
from mmseg.registry import METRICS

import mmkem  # noqa: F401


def test_accuracies_by_family_and_type():
    init_default_scope('mmseg')
    metric = METRICS.build(dict(type='SortOfCLEVRMetric'))
    samples = [
        # families 0,0,0,1,1,1 / subtypes 0,1,2,0,1,2; correct: yes yes no | yes no no
        dict(
            pred_answers=torch.tensor([2, 0, 1, 3, 2, 5]),
            answers=torch.tensor([2, 0, 0, 3, 3, 6]),
            families=torch.tensor([0, 0, 0, 1, 1, 1]),
            subtypes=torch.tensor([0, 1, 2, 0, 1, 2]),
        ),
        # two non-relational 'shape' questions, one right; one relational 'count', right
        dict(
            pred_answers=[3, 2, 7],
            answers=[3, 3, 7],
            families=[0, 0, 1],
            subtypes=[0, 0, 2],
        ),
    ]
    metric.dataset_meta = {}
    metric.process({}, samples)
    res = metric.evaluate(size=2)
    # 9 questions, 5 right; non-relational 5 questions, 3 right; relational 4 questions, 2 right
    assert math.isclose(res['sort_of_clevr/accuracy'], 100 * 5 / 9)
    assert math.isclose(res['sort_of_clevr/non_relational'], 100 * 3 / 5)
    assert math.isclose(res['sort_of_clevr/relational'], 100 * 2 / 4)
    assert math.isclose(res['sort_of_clevr/shape'], 100 * 2 / 3)
    assert res['sort_of_clevr/left'] == 100.0 and res['sort_of_clevr/top'] == 0.0
    assert res['sort_of_clevr/closest_shape'] == 100.0
    assert res['sort_of_clevr/furthest_shape'] == 0.0
    assert res['sort_of_clevr/count'] == 50.0


def test_missing_type_is_nan():
    init_default_scope('mmseg')
    metric = METRICS.build(dict(type='SortOfCLEVRMetric'))
    metric.process({}, [dict(pred_answers=[0], answers=[1], families=[0], subtypes=[1])])
    res = metric.evaluate(size=1)
    assert res['sort_of_clevr/accuracy'] == 0.0
    assert math.isnan(res['sort_of_clevr/relational'])


def test_accuracies_by_asked_colour():
    init_default_scope('mmseg')
    metric = METRICS.build(dict(type='SortOfCLEVRMetric'))
    samples = [
        # colours red red green | red blue blue; correct: yes no yes | yes yes no
        dict(
            pred_answers=[0, 1, 2, 3, 4, 5],
            answers=[0, 0, 2, 3, 4, 6],
            families=[0, 0, 1, 1, 1, 0],
            subtypes=[0, 1, 2, 0, 1, 2],
            colours=[0, 0, 1, 0, 2, 2],
        ),
        # one yellow relational question, wrong
        dict(pred_answers=[7], answers=[8], families=[1], subtypes=[2], colours=[5]),
    ]
    metric.process({}, samples)
    res = {k.split('/')[1]: v for k, v in metric.evaluate(size=2).items()}
    # the colour split does not change the pooled numbers: 7 questions, 4 right
    assert math.isclose(res['accuracy'], 100 * 4 / 7)
    assert math.isclose(res['non_relational'], 100 * 1 / 3)  # red yes, red no, blue no
    assert res['count'] == 50.0  # green right, yellow wrong
    # red: 3 questions (non-rel yes, non-rel no, rel yes)
    assert math.isclose(res['colour_red'], 100 * 2 / 3)
    assert res['colour_red_non_relational'] == 50.0 and res['colour_red_relational'] == 100.0
    assert res['colour_green'] == 100.0 and math.isnan(res['colour_green_non_relational'])
    assert res['colour_blue'] == 50.0
    assert res['colour_blue_non_relational'] == 0.0 and res['colour_blue_relational'] == 100.0
    assert res['colour_yellow'] == 0.0 and math.isnan(res['colour_orange'])
    assert math.isnan(res['colour_gray_relational'])


def test_no_colour_keys_without_colours():
    init_default_scope('mmseg')
    metric = METRICS.build(dict(type='SortOfCLEVRMetric'))
    metric.process({}, [dict(pred_answers=[0], answers=[0], families=[0], subtypes=[1])])
    res = metric.evaluate(size=1)
    assert not any('colour' in key for key in res)
