"""Answer accuracy on Sort-of-CLEVR: overall, non-relational, relational and per question type."""

from typing import Dict, List, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmseg.registry import METRICS

from ...datasets.synthetic.sort_of_clevr import QUESTION_TYPES

__all__ = ['SortOfCLEVRMetric']


def _numpy(value) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value).reshape(-1)


@METRICS.register_module()
class SortOfCLEVRMetric(BaseMetric):
    """Accuracy (%) of the predicted answers, pooled over all questions of the split.

    ``process`` keeps, per image, the number of questions and of correct answers for each of the
    6 question types (family x subtype); ``compute_metrics`` pools them over the split.

    Keys (with the default prefix ``sort_of_clevr/``): ``accuracy`` (all questions),
    ``non_relational``, ``relational``, and one per question type (``shape``, ``left``, ``top``,
    ``closest_shape``, ``furthest_shape``, ``count``). A group without questions gives NaN.

    Each data sample (the model's ``predict`` output) needs ``pred_answers``, ``answers``,
    ``families`` and ``subtypes``, each ``(Q,)``.

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
            total = np.bincount(cell, minlength=6)
            hits = np.bincount(cell, weights=correct.astype(np.float64), minlength=6)
            self.results.append((hits, total))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        hits = np.sum([r[0] for r in results], axis=0).reshape(2, 3)
        total = np.sum([r[1] for r in results], axis=0).reshape(2, 3)

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
        return metrics
