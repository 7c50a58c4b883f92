"""Answer accuracy on Sort-of-CLEVR: overall, per family, per question type and per asked colour."""

from typing import Dict, List, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmseg.registry import METRICS

from ...datasets.synthetic.sort_of_clevr import COLOURS, QUESTION_TYPES

__all__ = ['SortOfCLEVRMetric']


def _numpy(value) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value).reshape(-1)


@METRICS.register_module()
class SortOfCLEVRMetric(BaseMetric):
    """Accuracy (%) of the predicted answers, pooled over all questions of the split.

    ``process`` keeps, per image, the number of questions and of correct answers for each asked
    colour and question type (6 colours x family x subtype); ``compute_metrics`` pools them over
    the split.

    Keys (with the default prefix ``sort_of_clevr/``): ``accuracy`` (all questions),
    ``non_relational``, ``relational``, one per question type (``shape``, ``left``, ``top``,
    ``closest_shape``, ``furthest_shape``, ``count``) and, when the samples carry the asked
    ``colours``, three per colour: ``colour_<name>`` (all its questions),
    ``colour_<name>_non_relational`` and ``colour_<name>_relational`` (names from ``COLOURS``:
    red, green, blue, orange, gray, yellow). A group without questions gives NaN.

    Each data sample (the model's ``predict`` output) needs ``pred_answers``, ``answers``,
    ``families`` and ``subtypes``, each ``(Q,)``; ``colours`` ``(Q,)`` is optional.

    Args:
        collect_device (str): Device used to collect results across ranks. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the keys. Defaults to ``'sort_of_clevr'``.
    """

    default_prefix = 'sort_of_clevr'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            for key in ('pred_answers', 'answers', 'families', 'subtypes'):
                if key not in sample:
                    raise KeyError(f'SortOfCLEVRMetric needs {key!r} in each sample')
            correct = _numpy(sample['pred_answers']) == _numpy(sample['answers'])
            cell = _numpy(sample['families']) * 3 + _numpy(sample['subtypes'])
            has_colours = 'colours' in sample
            if has_colours:
                cell = cell + 6 * _numpy(sample['colours'])
            size = 6 * len(COLOURS)
            total = np.bincount(cell, minlength=size)
            hits = np.bincount(cell, weights=correct.astype(np.float64), minlength=size)
            self.results.append((hits, total, has_colours))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        # (colour, family, subtype); without colours everything sits in the first colour
        by_colour_hits = np.sum([r[0] for r in results], axis=0).reshape(len(COLOURS), 2, 3)
        by_colour_total = np.sum([r[1] for r in results], axis=0).reshape(len(COLOURS), 2, 3)
        hits, total = by_colour_hits.sum(0), by_colour_total.sum(0)

        def pct(h, t):
            return float(100.0 * h / t) if t > 0 else float('nan')

        metrics = dict(
            accuracy=pct(hits.sum(), total.sum()),
            non_relational=pct(hits[0].sum(), total[0].sum()),
            relational=pct(hits[1].sum(), total[1].sum()),
        )
        for family, names in enumerate(QUESTION_TYPES):
            for subtype, name in enumerate(names):
                metrics[name] = pct(hits[family, subtype], total[family, subtype])
        if results and all(r[2] for r in results):
            for c, colour in enumerate(COLOURS):
                h, t = by_colour_hits[c], by_colour_total[c]
                metrics[f'colour_{colour}'] = pct(h.sum(), t.sum())
                metrics[f'colour_{colour}_non_relational'] = pct(h[0].sum(), t[0].sum())
                metrics[f'colour_{colour}_relational'] = pct(h[1].sum(), t[1].sum())
        return metrics
