"""The boundary benchmark on a folder of saved edge predictions (``tools/analysis/eval_edges.py``).

The predictions are the files ``tools/test.py --out DIR`` writes (``DIR/<task>/<image stem>.png``,
uint8 ``round(p * 255)``, or the exact ``.npy`` next to it); the ground truth is read from the
config's dataset: with ``gt='seism'`` through the ``seism_boundaries`` decoder (SEISM's
``seg2bmap`` of the ``LabelMap`` / edge map read as labels), with ``gt='dataset'`` as the dataset
decodes it for training.
"""

import copy
import json
import multiprocessing
import os
import os.path as osp
import sys
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar
from mmseg.registry import DATASETS

from mmkem.datasets.transforms import LoadMultiTaskAnnotations
from mmkem.evaluation import functional as F
from mmkem.utils import prediction_io as P

__all__ = ['evaluate_edge_folder', 'plot_pr_curve', 'write_results']

_STATE: Dict[str, Any] = {}


def _leaf(dataset: Any) -> Any:
    while not hasattr(dataset, 'get_data_info') or hasattr(dataset, 'datasets'):
        if hasattr(dataset, 'datasets'):
            if len(dataset.datasets) != 1:
                raise ValueError('eval_edges reads one dataset; the config concatenates several')
            dataset = dataset.datasets[0]
        else:
            dataset = dataset.dataset
    return dataset


def _init(state: Dict[str, Any]) -> None:
    _STATE.update(state)


def _one(index: int) -> Dict[str, Any]:
    """Counts of sample ``index``: its ground truth read, its prediction loaded, matched."""
    dataset, task, pred_dir = _STATE['dataset'], _STATE['task'], _STATE['pred_dir']
    results = copy.deepcopy(dataset.get_data_info(index))
    gt = _STATE['loader'].load_task(results, task)
    stem = P.image_stem(results.get('img_path'), index)
    path = osp.join(pred_dir, task, stem)
    if not (osp.isfile(path + '.npy') or osp.isfile(path + '.png')):
        raise FileNotFoundError(
            f'no prediction {path}.png (or .npy) for sample {index} '
            f'({results.get("img_path")}); expected the layout of tools/test.py --out: '
            f'{pred_dir}/{task}/<image stem>.png'
        )
    pred = P.load_probability(path)
    if pred.shape[-2:] != gt.shape[-2:]:
        raise ValueError(
            f'{path}: prediction of size {pred.shape[-2:]} but ground truth of size '
            f'{gt.shape[-2:]} ({results.get(f"{task}_path")}); save predictions at the '
            f'original image size'
        )
    counts = F.boundary_counts(pred, gt, **_STATE['options'])
    return dict(stem=stem, **{k: v.tolist() for k, v in counts.items()})


def evaluate_edge_folder(
    cfg: Any,
    pred_dir: str,
    split: str = 'test',
    task: str = 'edge',
    gt: str = 'seism',
    thresholds: Union[int, Sequence[float]] = F.BENCHMARK_EDGE_THRESHOLDS,
    max_dist: float = 0.0075,
    nms: bool = True,
    apply_thin: bool = True,
    quantize: bool = True,
    workers: int = 0,
    limit: Optional[int] = None,
    progress: bool = True,
) -> Dict[str, Any]:
    """odsF, oisF and AP of the predictions in ``pred_dir`` against ``<split>_dataloader``'s data.

    Args:
        cfg: A loaded config with its tasks filled in (:func:`mmkem.apis.load_config`).
        pred_dir (str): The ``--out`` folder of ``tools/test.py`` (holds ``<task>/``).
        split (str): Whose dataset: ``<split>_dataloader``. Defaults to 'test'.
        task (str): The edge task's name. Defaults to 'edge'.
        gt (str): ``'seism'`` (the benchmark's ``seg2bmap`` ground truth) or ``'dataset'`` (as
            the dataset decodes it). Defaults to 'seism'.
        thresholds, max_dist, nms, apply_thin, quantize: The protocol's switches
            (:func:`mmkem.evaluation.functional.boundary_counts`).
        workers (int): Processes; 0 evaluates here. Defaults to 0.
        limit (int, optional): Evaluate only the first ``limit`` images. Defaults to None.
        progress (bool): A progress bar on stderr. Defaults to True.

    Returns:
        dict: ``metrics`` (odsF, oisF, AP, ODS threshold / precision / recall, percent),
        ``settings``, ``thresholds``, ``curve`` (dataset precision, recall, F per threshold),
        ``num_images`` and ``per_image`` counts.
    """
    if gt not in ('seism', 'dataset'):
        raise ValueError(f"gt must be 'seism' or 'dataset', got {gt!r}")
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    loader_cfg = cfg.get(f'{split}_dataloader')
    if not isinstance(loader_cfg, dict) or 'dataset' not in loader_cfg:
        have = sorted(k[: -len('_dataloader')] for k in cfg if k.endswith('_dataloader'))
        raise KeyError(f'the config has no {split}_dataloader.dataset; splits: {have}')
    dataset = _leaf(DATASETS.build(copy.deepcopy(loader_cfg['dataset'])))
    if task not in getattr(dataset, 'tasks', ()):
        raise ValueError(f'task {task!r} is not a task of the dataset: {dataset.tasks}')
    if not osp.isdir(osp.join(pred_dir, task)):
        raise FileNotFoundError(
            f'{osp.join(pred_dir, task)} is not a folder; expected the layout of tools/test.py '
            f'--out: {pred_dir}/{task}/<image stem>.png'
        )
    thresholds = F.resolve_thresholds(thresholds)
    options = dict(
        thresholds=thresholds,
        max_dist=float(max_dist),
        nms=nms,
        apply_thin=apply_thin,
        quantize=quantize,
    )
    state = dict(
        dataset=dataset,
        task=task,
        pred_dir=pred_dir,
        gt=gt,
        loader=LoadMultiTaskAnnotations(
            tasks=[task], decoders={task: 'seism_boundaries'} if gt == 'seism' else None
        ),
        options=options,
    )
    count = len(dataset) if limit is None else min(limit, len(dataset))
    bar = ProgressBar(count, file=sys.stderr) if progress and count else None
    per_image = []
    if workers > 0:
        # fork: the workers inherit the built dataset instead of unpickling it
        ctx = multiprocessing.get_context('fork' if os.name == 'posix' else None)
        with ctx.Pool(workers, initializer=_init, initargs=(state,)) as pool:
            for item in pool.imap(_one, range(count), chunksize=1):
                per_image.append(item)
                if bar is not None:
                    bar.update()
    else:
        _init(state)
        for index in range(count):
            per_image.append(_one(index))
            if bar is not None:
                bar.update()
    if bar is not None:
        sys.stderr.write('\n')
    if not per_image:
        raise ValueError(f'the {split} dataset has no samples')
    stacked = {k: np.array([p[k] for p in per_image]) for k in ('cnt_r', 'sum_r', 'cnt_p', 'sum_p')}
    scores = F.boundary_scores(**stacked, thresholds=thresholds)
    curve = F.boundary_pr_curve(**stacked)
    return dict(
        metrics=scores,
        settings=dict(
            split=split,
            task=task,
            gt=gt,
            max_dist=float(max_dist),
            nms=nms,
            thin=apply_thin,
            quantize=quantize,
            num_thresholds=len(thresholds),
            protocol='benchmark'
            if (thresholds == F.BENCHMARK_EDGE_THRESHOLDS and nms and apply_thin)
            else 'other',
        ),
        thresholds=list(thresholds),
        curve={k: v.tolist() for k, v in curve.items()},
        num_images=len(per_image),
        per_image=per_image,
    )


def plot_pr_curve(result: Dict[str, Any], path: str, label: str = 'edge') -> str:
    """The dataset's precision-recall curve with iso-F lines and the ODS point, as a PNG."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    for f in np.arange(0.1, 1.0, 0.1):
        r = np.linspace(f / (2 - f) + 1e-6, 1, 200)
        ax.plot(r, f * r / (2 * r - f), color='0.85', linewidth=0.8)
    rec, prec = np.array(result['curve']['recall']), np.array(result['curve']['precision'])
    m = result['metrics']
    ax.plot(rec, prec, linewidth=2, label=f'{label} [odsF {m["odsF"]:.2f}]')
    ax.plot(m['ods_recall'] / 100, m['ods_precision'] / 100, 'o', color='C1')
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel='Recall', ylabel='Precision')
    ax.grid(True, linewidth=0.3)
    ax.legend(loc='lower left')
    ax.set_title(f'odsF {m["odsF"]:.2f}  oisF {m["oisF"]:.2f}  AP {m["AP"]:.2f}')
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, bbox_inches='tight')
    plt.close(fig)
    return path


def write_results(result: Dict[str, Any], path: str) -> str:
    """``result`` as JSON."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(result, f, indent=1)
    return path
