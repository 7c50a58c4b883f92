"""Sort-of-CLEVR (Santoro et al. 2017): a seeded scene and question generator, balanced or
long-tailed.

The paper's Table 1 trains a reasoning model with KEM or sKEM on Sort-of-CLEVR, balanced and with
a long-tailed (power-law exponent 2) training distribution. The generator follows the public
Sort-of-CLEVR code of the relation-network reproduction:

- 75x75 white images with 6 objects, one per colour (red, green, blue, orange, gray, yellow);
  centres drawn uniformly in ``[5, 70)`` with no two centres closer than 10 px; each object is a
  10x10 square or a radius-5 circle (equal odds).
- Questions, 11-d one-hot blocks: colour (6), family (2: non-relational, relational), subtype (3).
  Non-relational: the shape of X; is X on the left (centre x < 37.5); is X on top (centre y <
  37.5). Relational: the shape of the object closest to X; of the object furthest from X; how many
  objects have the shape of X (X included).
- Answers, 10 classes: yes, no, rectangle, circle, and the counts 1..6.

Long tail (the paper does not say what it skews): one question attribute, ``target`` =
``'colour'`` (the colour asked about) or ``'subtype'`` (the question subtype, within each family),
is drawn with probability proportional to ``rank^-exponent`` (rank 1 = the first colour / subtype
in the order above) instead of uniformly. The scenes themselves are the same as in the balanced
set with the same seed (scenes and questions use separate random streams), so balanced and
long-tailed training sets differ only in their questions. Test sets are generated balanced: the
split measures how a model copes with a skewed training distribution.
"""

import os
import os.path as osp
from typing import Dict, Optional

import numpy as np

__all__ = [
    'ANSWERS',
    'COLOURS',
    'QUESTION_DIMS',
    'QUESTION_TYPES',
    'answer_question',
    'cache_name',
    'generate_sort_of_clevr',
    'load_or_generate_sort_of_clevr',
    'long_tail_probs',
    'render_scene',
]

IMAGE_SIZE = 75
OBJECT_SIZE = 5  # half the side of a square, radius of a circle
MIN_CENTRE_DISTANCE = 10
NUM_OBJECTS = 6
COLOURS = ('red', 'green', 'blue', 'orange', 'gray', 'yellow')
#: RGB of each colour, in the order of COLOURS.
COLOUR_RGB = np.array(
    [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 156, 0], [128, 128, 128], [255, 255, 0]],
    dtype=np.uint8,
)
SHAPES = ('rectangle', 'circle')
ANSWERS = ('yes', 'no', 'rectangle', 'circle', '1', '2', '3', '4', '5', '6')
YES, NO, COUNT_ONE = 0, 1, 4
#: (family, subtype) -> name; family 0 = non-relational, 1 = relational.
QUESTION_TYPES = (
    ('shape', 'left', 'top'),
    ('closest_shape', 'furthest_shape', 'count'),
)
NUM_FAMILIES, NUM_SUBTYPES = 2, 3
QUESTION_DIMS = NUM_OBJECTS + NUM_FAMILIES + NUM_SUBTYPES  # 11
LONG_TAIL_TARGETS = ('colour', 'subtype')


def long_tail_probs(num_values: int, exponent: float) -> np.ndarray:
    """Power-law probabilities ``p_r ∝ r^-exponent`` for ranks ``r = 1..num_values``.

    Args:
        num_values (int): Number of categories (>= 1).
        exponent (float): Power-law exponent (>= 0; 0 = uniform).

    Returns:
        np.ndarray: ``(num_values,)`` float64, sums to 1, non-increasing.
    """
    if num_values < 1:
        raise ValueError(f'num_values must be >= 1, got {num_values}')
    if exponent < 0:
        raise ValueError(f'exponent must be >= 0, got {exponent}')
    weights = np.arange(1, num_values + 1, dtype=np.float64) ** -float(exponent)
    return weights / weights.sum()


def _sample_scene(rng: np.random.Generator) -> np.ndarray:
    """Six objects ``(x, y, shape)``, row = colour index, centres at least 10 px apart."""
    objects = np.zeros((NUM_OBJECTS, 3), dtype=np.int64)
    for colour in range(NUM_OBJECTS):
        while True:
            centre = rng.integers(OBJECT_SIZE, IMAGE_SIZE - OBJECT_SIZE, size=2)
            dists = np.linalg.norm(objects[:colour, :2] - centre, axis=1)
            if np.all(dists >= MIN_CENTRE_DISTANCE):
                break
        objects[colour, :2] = centre
        objects[colour, 2] = rng.integers(0, 2)
    return objects


def render_scene(objects: np.ndarray) -> np.ndarray:
    """Draw a scene: white ``(75, 75, 3)`` uint8 RGB; squares ``[c-5, c+5)``, circles ``|p-c|<=5``.

    Args:
        objects (np.ndarray): ``(6, 3)`` int rows ``(x, y, shape)``, row ``i`` has colour ``i``;
            shape 0 = rectangle, 1 = circle.
    """
    image = np.full((IMAGE_SIZE, IMAGE_SIZE, 3), 255, dtype=np.uint8)
    ys, xs = np.mgrid[:IMAGE_SIZE, :IMAGE_SIZE]
    for colour, (x, y, shape) in enumerate(objects):
        if shape == 0:
            mask = (np.abs(xs - x + 0.5) <= OBJECT_SIZE) & (np.abs(ys - y + 0.5) <= OBJECT_SIZE)
        else:
            mask = (xs - x) ** 2 + (ys - y) ** 2 <= OBJECT_SIZE**2
        image[mask] = COLOUR_RGB[colour]
    return image


def answer_question(objects: np.ndarray, colour: int, family: int, subtype: int) -> int:
    """The answer index (into :data:`ANSWERS`) of one question about a scene.

    Args:
        objects (np.ndarray): ``(6, 3)`` rows ``(x, y, shape)``, row = colour.
        colour (int): The colour X asked about, 0..5.
        family (int): 0 non-relational, 1 relational.
        subtype (int): 0..2, see :data:`QUESTION_TYPES`.
    """
    x, y, shape = objects[colour]
    if family == 0:
        if subtype == 0:
            return 2 + int(shape)
        coord = x if subtype == 1 else y
        return YES if coord < IMAGE_SIZE / 2 else NO
    if subtype == 2:
        return COUNT_ONE + int(np.sum(objects[:, 2] == shape)) - 1
    dists = np.linalg.norm(objects[:, :2] - objects[colour, :2], axis=1).astype(np.float64)
    if subtype == 0:
        dists[colour] = np.inf
        return 2 + int(objects[np.argmin(dists), 2])
    return 2 + int(objects[np.argmax(dists), 2])


def generate_sort_of_clevr(
    num_images: int,
    questions_per_family: int = 10,
    seed: int = 0,
    long_tail: Optional[Dict] = None,
) -> Dict[str, np.ndarray]:
    """Generate a Sort-of-CLEVR split.

    Each image gets ``questions_per_family`` non-relational questions followed by as many
    relational ones. Balanced: colour and subtype uniform. With ``long_tail``, the ``target``
    attribute is drawn from :func:`long_tail_probs`.

    Args:
        num_images (int): Number of images.
        questions_per_family (int): Questions per family and image. Defaults to 10.
        seed (int): Seed; scenes come from stream ``[seed, 0]`` and questions from ``[seed, 1]``,
            so a long-tailed set has the scenes of the balanced set with the same seed.
            Defaults to 0.
        long_tail (dict, optional): ``dict(target='colour' | 'subtype', exponent=2.0)``; None for a
            balanced set. Defaults to None.

    Returns:
        dict: ``images`` (N, 75, 75, 3) uint8 RGB; ``objects`` (N, 6, 3) int64 ``(x, y, shape)``;
        ``questions`` (N, Q, 11) uint8 one-hot blocks; ``answers`` (N, Q) int64;
        ``colours``, ``families``, ``subtypes`` (N, Q) int64, ``Q = 2 * questions_per_family``.
    """
    if num_images < 1:
        raise ValueError(f'num_images must be >= 1, got {num_images}')
    if questions_per_family < 1:
        raise ValueError(f'questions_per_family must be >= 1, got {questions_per_family}')
    colour_p = np.full(NUM_OBJECTS, 1.0 / NUM_OBJECTS)
    subtype_p = np.full(NUM_SUBTYPES, 1.0 / NUM_SUBTYPES)
    if long_tail is not None:
        target = long_tail.get('target', 'colour')
        exponent = long_tail.get('exponent', 2.0)
        if target not in LONG_TAIL_TARGETS:
            raise ValueError(f'long_tail target must be one of {LONG_TAIL_TARGETS}, got {target!r}')
        if target == 'colour':
            colour_p = long_tail_probs(NUM_OBJECTS, exponent)
        else:
            subtype_p = long_tail_probs(NUM_SUBTYPES, exponent)

    scene_rng = np.random.default_rng([seed, 0])
    question_rng = np.random.default_rng([seed, 1])
    num_q = 2 * questions_per_family
    objects = np.stack([_sample_scene(scene_rng) for _ in range(num_images)])
    images = np.stack([render_scene(obj) for obj in objects])
    families = np.repeat([0, 1], questions_per_family)[None].repeat(num_images, 0)
    colours = question_rng.choice(NUM_OBJECTS, size=(num_images, num_q), p=colour_p)
    subtypes = question_rng.choice(NUM_SUBTYPES, size=(num_images, num_q), p=subtype_p)
    answers = np.array(
        [
            [answer_question(objects[i], colours[i, j], families[i, j], subtypes[i, j])
             for j in range(num_q)]
            for i in range(num_images)
        ],
        dtype=np.int64,
    )  # fmt: skip
    questions = np.zeros((num_images, num_q, QUESTION_DIMS), dtype=np.uint8)
    rows, cols = np.indices((num_images, num_q))
    questions[rows, cols, colours] = 1
    questions[rows, cols, NUM_OBJECTS + families] = 1
    questions[rows, cols, NUM_OBJECTS + NUM_FAMILIES + subtypes] = 1
    return dict(
        images=images,
        objects=objects,
        questions=questions,
        answers=answers,
        colours=colours.astype(np.int64),
        families=families.astype(np.int64),
        subtypes=subtypes.astype(np.int64),
    )


def cache_name(
    num_images: int, questions_per_family: int, seed: int, long_tail: Optional[Dict]
) -> str:
    """File name that identifies a generated split by all its parameters."""
    tail = 'balanced'
    if long_tail is not None:
        tail = f'lt-{long_tail.get("target", "colour")}-{float(long_tail.get("exponent", 2.0)):g}'
    return f'sort_of_clevr_n{num_images}_q{questions_per_family}_s{seed}_{tail}.npz'


def load_or_generate_sort_of_clevr(
    data_root: Optional[str],
    num_images: int,
    questions_per_family: int = 10,
    seed: int = 0,
    long_tail: Optional[Dict] = None,
) -> Dict[str, np.ndarray]:
    """Read a generated split from ``data_root`` (a compressed ``.npz``), generating it if absent.

    Args:
        data_root (str, optional): Cache folder (created if needed); None disables the cache.
        num_images, questions_per_family, seed, long_tail: See :func:`generate_sort_of_clevr`.

    Returns:
        dict: As :func:`generate_sort_of_clevr`.
    """
    if data_root is None:
        return generate_sort_of_clevr(num_images, questions_per_family, seed, long_tail)
    path = osp.join(data_root, cache_name(num_images, questions_per_family, seed, long_tail))
    if osp.isfile(path):
        with np.load(path) as cached:
            return {key: cached[key] for key in cached.files}
    data = generate_sort_of_clevr(num_images, questions_per_family, seed, long_tail)
    os.makedirs(data_root, exist_ok=True)
    tmp = path + '.tmp.npz'  # written then renamed: a killed run leaves no truncated cache
    np.savez_compressed(tmp, **data)
    os.replace(tmp, path)
    return data
