"""The Sort-of-CLEVR dataset of the paper's Table 1 (scenes and questions from
:mod:`mmkem.datasets.synthetic.sort_of_clevr`, generated on first use and cached)."""

from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmseg.registry import DATASETS

from .synthetic.sort_of_clevr import (
    ANSWERS,
    COLOURS,
    QUESTION_TYPES,
    load_or_generate_sort_of_clevr,
)

__all__ = ['QUESTION_COLOURS', 'SortOfCLEVRDataset']

#: ``question_colour`` values: the generated questions, or their colour replaced by another one.
QUESTION_COLOURS = ('asked', 'shuffled')
NUM_COLOURS = len(COLOURS)


@DATASETS.register_module()
class SortOfCLEVRDataset(BaseDataset):
    """Sort-of-CLEVR images with their questions; generated on first use and cached.

    One sample is one image with all its ``Q = 2 * questions_per_family`` questions, so a model can
    encode each image once and answer all its questions.

    Each sample (after the pipeline, empty by default) is a dict:

    - ``inputs``: uint8 tensor ``(3, 75, 75)``, RGB.
    - ``questions``: float32 ``(Q, 11)``; ``answers``: int64 ``(Q,)``;
      ``families``: int64 ``(Q,)`` (0 non-relational, 1 relational); ``subtypes``: int64 ``(Q,)``;
      ``colours``: int64 ``(Q,)``, the colour each question asks about (index into ``COLOURS``).

    With ``question_colour='shuffled'`` (a guard, not a task) every question's colour block names a
    random *other* colour (seeded by ``shuffle_seed`` and the sample index), while ``answers`` and
    ``colours`` stay those of the asked colour: a model that reads the colour loses accuracy, a
    model that ignores it (the colour-blind plateau, docs/sort_of_clevr.md) does not.

    Args:
        data_root (str, optional): Cache folder of the generated ``.npz`` files; None generates in
            memory every time. Defaults to ``'data/sort_of_clevr'``.
        num_images (int): Images in the split (paper's size: 9800 train, 200 test).
            Defaults to 9800.
        questions_per_family (int): Questions per family and image. Defaults to 10.
        seed (int): Generator seed; use different seeds for train and test. Defaults to 0.
        long_tail (dict, optional): ``dict(target='colour' | 'subtype', exponent=2.0)`` for a
            long-tailed split, None for balanced. Defaults to None.
        question_colour (str): ``'asked'`` (the questions as generated) or ``'shuffled'`` (see
            above). Defaults to ``'asked'``.
        shuffle_seed (int): Seed of the shuffled colours. Defaults to 0.
        pipeline (list): Transforms applied to each sample dict. Defaults to ``[]``.
        **kwargs: Other :class:`mmengine.dataset.BaseDataset` arguments.
    """

    METAINFO = dict(answers=ANSWERS, colours=COLOURS, question_types=QUESTION_TYPES)

    def __init__(
        self,
        data_root: Optional[str] = 'data/sort_of_clevr',
        num_images: int = 9800,
        questions_per_family: int = 10,
        seed: int = 0,
        long_tail: Optional[Dict] = None,
        question_colour: str = 'asked',
        shuffle_seed: int = 0,
        pipeline: Sequence = (),
        **kwargs,
    ) -> None:
        if question_colour not in QUESTION_COLOURS:
            raise ValueError(
                f'question_colour must be one of {QUESTION_COLOURS}, got {question_colour!r}'
            )
        self.question_colour = question_colour
        self.shuffle_seed = shuffle_seed
        self.num_images = num_images
        self.questions_per_family = questions_per_family
        self.seed = seed
        self.long_tail = None if long_tail is None else dict(long_tail)
        super().__init__(data_root=data_root or '', pipeline=list(pipeline), **kwargs)

    def load_data_list(self) -> List[dict]:
        data = load_or_generate_sort_of_clevr(
            self.data_root or None,
            self.num_images,
            self.questions_per_family,
            self.seed,
            self.long_tail,
        )
        return [
            dict(
                sample_idx=i,
                image=data['images'][i],
                objects=data['objects'][i],
                questions=data['questions'][i],
                answers=data['answers'][i],
                families=data['families'][i],
                subtypes=data['subtypes'][i],
                colours=data['colours'][i],
            )
            for i in range(len(data['images']))
        ]

    def _shuffled_questions(self, questions: np.ndarray, colours: np.ndarray, idx: int):
        """``questions`` with each colour block naming a random other colour."""
        rng = np.random.default_rng([self.shuffle_seed, idx])
        other = (colours + rng.integers(1, NUM_COLOURS, size=colours.shape)) % NUM_COLOURS
        questions = questions.copy()
        questions[:, :NUM_COLOURS] = np.eye(NUM_COLOURS, dtype=questions.dtype)[other]
        return questions

    def prepare_data(self, idx: int) -> dict:
        results = super().prepare_data(idx)
        questions = results['questions'].astype(np.float32)
        if self.question_colour == 'shuffled':
            questions = self._shuffled_questions(questions, results['colours'], idx)
        return dict(
            inputs=torch.from_numpy(np.ascontiguousarray(results['image'].transpose(2, 0, 1))),
            questions=torch.from_numpy(questions),
            answers=torch.from_numpy(results['answers'].astype(np.int64)),
            families=torch.from_numpy(results['families'].astype(np.int64)),
            subtypes=torch.from_numpy(results['subtypes'].astype(np.int64)),
            colours=torch.from_numpy(results['colours'].astype(np.int64)),
        )
