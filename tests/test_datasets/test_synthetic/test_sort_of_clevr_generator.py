"""Sort-of-CLEVR generator: scene rules, answers by a plain reference, seeds, long tail, cache."""

import itertools
import math

import numpy as np
import pytest

from mmkem.datasets.synthetic import sort_of_clevr as soc

COLOURS_RGB = {
    (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 156, 0), (128, 128, 128), (255, 255, 0),
}  # fmt: skip
ANSWER_NAMES = ['yes', 'no', 'rectangle', 'circle', '1', '2', '3', '4', '5', '6']


def reference_answer(objects, question):
    """Answer name of one question, from the object list and the 11-d question, written plainly."""
    colour = list(question[:6]).index(1)
    relational = question[7] == 1
    subtype = list(question[8:]).index(1)
    x, y, shape = (int(v) for v in objects[colour])
    shape_name = ['rectangle', 'circle']
    if not relational:
        if subtype == 0:
            return shape_name[shape]
        if subtype == 1:
            return 'yes' if x < 37.5 else 'no'
        return 'yes' if y < 37.5 else 'no'
    if subtype == 2:
        return str(sum(1 for o in objects if int(o[2]) == shape))
    best, best_dist = None, None
    for i, (ox, oy, oshape) in enumerate(objects):
        if i == colour:
            continue
        dist = math.hypot(int(ox) - x, int(oy) - y)
        closer = best_dist is None or (dist < best_dist if subtype == 0 else dist > best_dist)
        if closer:
            best, best_dist = int(oshape), dist
    return shape_name[best]


@pytest.fixture(scope='module')
def data():
    return soc.generate_sort_of_clevr(40, questions_per_family=10, seed=3)


def test_scene_rules(data):
    images, objects = data['images'], data['objects']
    assert images.shape == (40, 75, 75, 3) and images.dtype == np.uint8
    assert objects.shape == (40, 6, 3)
    assert np.all((objects[..., :2] >= 5) & (objects[..., :2] < 70))
    assert set(np.unique(objects[..., 2])) <= {0, 1}
    for objs in objects:
        for a, b in itertools.combinations(range(6), 2):
            assert math.dist(objs[a, :2], objs[b, :2]) >= 10
    for image, objs in zip(images, objects):
        colours = {tuple(p) for p in image.reshape(-1, 3)}
        assert colours <= COLOURS_RGB | {(255, 255, 255)}
        # the last-drawn object (yellow) is whole; its centre pixel has its colour
        x, y, _ = objs[5]
        assert tuple(image[y, x]) == (255, 255, 0)


def test_shapes_are_drawn_to_size():
    objects = np.array(
        [[10, 10, 0], [40, 10, 1], [65, 10, 0], [10, 60, 1], [40, 60, 0], [65, 60, 1]]
    )
    image = soc.render_scene(objects)
    for colour, (x, y, shape) in enumerate(objects):
        mask = np.all(image == soc.COLOUR_RGB[colour], axis=-1)
        ys, xs = np.nonzero(mask)
        if shape == 0:  # 10x10 square covering [c-5, c+5)
            assert mask.sum() == 100
            assert (xs.min(), xs.max(), ys.min(), ys.max()) == (x - 5, x + 4, y - 5, y + 4)
        else:  # lattice points within radius 5
            assert mask.sum() == sum(
                1 for dx in range(-5, 6) for dy in range(-5, 6) if dx * dx + dy * dy <= 25
            )


def test_questions_and_answers_match_reference(data):
    questions, answers, objects = data['questions'], data['answers'], data['objects']
    assert questions.shape == (40, 20, 11)
    assert np.all(questions[..., :6].sum(-1) == 1)
    assert np.all(questions[..., 6:8].sum(-1) == 1)
    assert np.all(questions[..., 8:].sum(-1) == 1)
    # 10 non-relational then 10 relational questions per image
    assert np.all(questions[:, :10, 6] == 1) and np.all(questions[:, 10:, 7] == 1)
    seen_types = set()
    for i in range(len(objects)):
        for j in range(20):
            q = questions[i, j]
            seen_types.add((int(q[7]), list(q[8:]).index(1)))
            assert ANSWER_NAMES[answers[i, j]] == reference_answer(objects[i], q), (i, j)
    assert len(seen_types) == 6
    rel_count = (data['families'] == 1) & (data['subtypes'] == 2)
    assert np.all((answers[rel_count] >= 4) & (answers[rel_count] <= 9))
    assert np.all(np.isin(answers[~rel_count], [0, 1, 2, 3]))


def test_determinism_and_shared_scenes():
    a = soc.generate_sort_of_clevr(6, seed=5)
    b = soc.generate_sort_of_clevr(6, seed=5)
    c = soc.generate_sort_of_clevr(6, seed=6)
    lt = soc.generate_sort_of_clevr(6, seed=5, long_tail=dict(target='colour', exponent=2.0))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a['objects'], c['objects'])
    # the long-tailed set asks other questions about the same scenes
    np.testing.assert_array_equal(a['images'], lt['images'])
    assert not np.array_equal(a['colours'], lt['colours'])


@pytest.mark.parametrize('target,num_values', [('colour', 6), ('subtype', 3)])
def test_long_tail_frequencies_follow_power_law(target, num_values):
    data = soc.generate_sort_of_clevr(
        600, questions_per_family=50, seed=0, long_tail=dict(target=target, exponent=2.0)
    )
    values = data['colours'] if target == 'colour' else data['subtypes']
    freq = np.bincount(values.ravel(), minlength=num_values) / values.size
    ranks = np.arange(1, num_values + 1)
    expected = ranks**-2.0 / np.sum(ranks**-2.0)
    np.testing.assert_allclose(freq, expected, atol=0.006)  # 60,000 draws: std <= 0.002
    np.testing.assert_allclose(soc.long_tail_probs(num_values, 2.0), expected)
    # the other attribute stays uniform
    other = data['subtypes'] if target == 'colour' else data['colours']
    n_other = 3 if target == 'colour' else 6
    other_freq = np.bincount(other.ravel(), minlength=n_other) / other.size
    np.testing.assert_allclose(other_freq, 1.0 / n_other, atol=0.01)


def test_invalid_arguments():
    with pytest.raises(ValueError, match='target'):
        soc.generate_sort_of_clevr(2, long_tail=dict(target='shape'))
    with pytest.raises(ValueError, match='num_images'):
        soc.generate_sort_of_clevr(0)
    with pytest.raises(ValueError, match='exponent'):
        soc.long_tail_probs(3, -1.0)


def test_cache_is_reused(tmp_path, monkeypatch):
    first = soc.load_or_generate_sort_of_clevr(str(tmp_path), 5, 2, seed=1)
    assert [p.name for p in tmp_path.iterdir()] == ['sort_of_clevr_n5_q2_s1_balanced.npz']

    def fail(*args, **kwargs):
        raise AssertionError('the cached split should have been read')

    monkeypatch.setattr(soc, 'generate_sort_of_clevr', fail)
    second = soc.load_or_generate_sort_of_clevr(str(tmp_path), 5, 2, seed=1)
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
