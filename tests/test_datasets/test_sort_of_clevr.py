"""SortOfCLEVRDataset: built from the registry, its samples equal the generator's split."""

import numpy as np
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

import mmkem  # noqa: F401
from mmkem.datasets.synthetic import sort_of_clevr as soc


def test_dataset_from_registry(tmp_path):
    init_default_scope('mmseg')
    dataset = DATASETS.build(
        dict(
            type='SortOfCLEVRDataset',
            data_root=str(tmp_path),
            num_images=4,
            questions_per_family=3,
            seed=2,
            long_tail=dict(target='subtype', exponent=2.0),
        )
    )
    ref = soc.generate_sort_of_clevr(4, 3, seed=2, long_tail=dict(target='subtype', exponent=2.0))
    assert len(dataset) == 4
    sample = dataset[1]
    assert tuple(sample['inputs'].shape) == (3, 75, 75)
    np.testing.assert_array_equal(sample['inputs'].permute(1, 2, 0).numpy(), ref['images'][1])
    np.testing.assert_array_equal(sample['questions'].numpy(), ref['questions'][1])
    np.testing.assert_array_equal(sample['answers'].numpy(), ref['answers'][1])
    np.testing.assert_array_equal(sample['families'].numpy(), [0, 0, 0, 1, 1, 1])
    assert dataset.metainfo['answers'][0] == 'yes'


def build(tmp_path, **kwargs):
    init_default_scope('mmseg')
    cfg = dict(
        type='SortOfCLEVRDataset', data_root=str(tmp_path), num_images=5, questions_per_family=4
    )
    return DATASETS.build(dict(cfg, **kwargs))


def test_samples_carry_the_asked_colour(tmp_path):
    dataset = build(tmp_path)
    ref = soc.generate_sort_of_clevr(5, 4, seed=0)
    for i in range(5):
        colours = dataset[i]['colours'].numpy()
        np.testing.assert_array_equal(colours, ref['colours'][i])
        np.testing.assert_array_equal(colours, ref['questions'][i][:, :6].argmax(1))


def test_shuffled_colours_name_another_colour_and_keep_the_answers(tmp_path):
    asked = build(tmp_path)
    shuffled = build(tmp_path, question_colour='shuffled', shuffle_seed=3)
    named = []
    for i in range(5):
        a, s = asked[i], shuffled[i]
        q_a, q_s = a['questions'].numpy(), s['questions'].numpy()
        # one colour, another than the asked one; family and subtype blocks untouched
        assert (q_s[:, :6].sum(1) == 1).all()
        assert (q_s[:, :6].argmax(1) != a['colours'].numpy()).all()
        np.testing.assert_array_equal(q_s[:, 6:], q_a[:, 6:])
        for key in ('inputs', 'answers', 'families', 'subtypes', 'colours'):
            np.testing.assert_array_equal(s[key].numpy(), a[key].numpy())
        named.append(q_s[:, :6].argmax(1))
    # every other colour shows up; the same seed gives the same questions
    assert len(np.unique(np.concatenate(named))) == 6
    again = build(tmp_path, question_colour='shuffled', shuffle_seed=3)
    np.testing.assert_array_equal(again[2]['questions'].numpy(), shuffled[2]['questions'].numpy())


def test_bad_question_colour(tmp_path):
    import pytest

    with pytest.raises(ValueError, match='question_colour'):
        build(tmp_path, question_colour='random')
