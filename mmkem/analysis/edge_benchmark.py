"""Speed and agreement of the boundary benchmark (``tools/analysis/benchmark_edges.py``).

The full protocol (NMS, the 101 thresholds, thinning, matching) on synthetic NYUD-sized maps
(480x640), over a pool of processes, for mmkem's implementation and, when it is installed, for
pyEdgeEval (the test-only reference: imported here only, never by the package's runtime code), on
the same images and the same number of processes. Reports images per second, the time a 654-image
NYUD-v2 val set would take, and how far the two implementations' counts and scores differ.
"""

import multiprocessing
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage as ndi

from mmkem.evaluation import functional as F

__all__ = ['run_edge_benchmark', 'synthetic_edge_pair', 'format_table']

NYUD_VAL_IMAGES = 654


def synthetic_edge_pair(
    height: int = 480, width: int = 640, seed: int = 0, regions: int = 40
) -> Tuple[np.ndarray, np.ndarray]:
    """A label map's boundary and an edge-detector-like prediction of it.

    The label map is a Voronoi partition of ``regions`` random seeds with wavy borders; the
    prediction is a soft response around the boundary displaced by up to ~2 px, with a tenth of
    it missing, false edges of another partition at low strength, and noise, saved as uint8 as
    ``tools/test.py --out`` does.

    Returns:
        tuple: ``pred`` (H, W) float32 on the 1/255 grid, ``gt`` (H, W) bool.
    """
    rng = np.random.default_rng(seed)

    def partition(count: int) -> np.ndarray:
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        wobble = ndi.gaussian_filter(rng.standard_normal((height, width)), 12) * 120
        seeds = rng.random((count, 2)) * (height, width)
        d = (yy[None] + wobble - seeds[:, 0, None, None]) ** 2 + (
            xx[None] - wobble - seeds[:, 1, None, None]
        ) ** 2
        return d.argmin(0)

    gt = F.seg2bmap(partition(regions))
    drift = ndi.gaussian_filter(rng.standard_normal((2, height, width)), (0, 20, 20)) * 25
    yy, xx = np.mgrid[0:height, 0:width]
    moved = ndi.map_coordinates(gt.astype(np.float32), [yy + drift[0], xx + drift[1]], order=1)
    keep = ndi.gaussian_filter(rng.random((height, width)), 8) > 0.47  # ~10 % missing
    dist = ndi.distance_transform_edt(~((moved > 0.3) & keep))
    response = np.exp(-(dist**2) / 3.0) * (0.55 + 0.45 * rng.random((height, width)))
    false = ndi.distance_transform_edt(~F.seg2bmap(partition(regions // 2)))
    response = np.maximum(response, 0.35 * np.exp(-(false**2) / 2.0) * rng.random((height, width)))
    response = response + 0.04 * rng.random((height, width))
    pred = np.rint(np.clip(response, 0, 1) * 255).astype(np.float32) / 255
    return pred, gt


def _ours(args):
    pred, gt, max_dist = args
    start = time.perf_counter()
    # the input is already on the 1/255 grid; not rounding after the NMS either compares the
    # implementations on the same maps (pyEdgeEval does not round)
    counts = F.boundary_counts(pred, gt, max_dist=max_dist, quantize=False)
    return counts, time.perf_counter() - start


def _pyedgeeval(args):
    from pyEdgeEval.common.binary_label.evaluate_boundaries import (  # test-only reference
        evaluate_boundaries_threshold,
    )

    pred, gt, max_dist = args
    start = time.perf_counter()
    # pyEdgeEval binarises with '>= t'; the next float above t gives the benchmark's '> t'
    thresholds = np.nextafter(np.array(F.BENCHMARK_EDGE_THRESHOLDS), 2.0)
    cnt_r, sum_r, cnt_p, sum_p = evaluate_boundaries_threshold(
        thresholds, pred.astype(np.float64), gt, max_dist=max_dist, apply_nms=True
    )
    counts = dict(cnt_r=cnt_r, sum_r=sum_r, cnt_p=cnt_p, sum_p=sum_p)
    return {k: np.asarray(v, dtype=np.int64) for k, v in counts.items()}, (
        time.perf_counter() - start
    )


def _run(fn, jobs: List[tuple], processes: int) -> Tuple[List[Dict[str, np.ndarray]], float, list]:
    start = time.perf_counter()
    if processes > 1:
        with multiprocessing.get_context('fork').Pool(processes) as pool:
            out = pool.map(fn, jobs, chunksize=1)
    else:
        out = [fn(job) for job in jobs]
    wall = time.perf_counter() - start
    return [o[0] for o in out], wall, [o[1] for o in out]


def _scores(counts: Sequence[Dict[str, np.ndarray]]) -> Dict[str, float]:
    stacked = {k: np.stack([c[k] for c in counts]) for k in counts[0]}
    return F.boundary_scores(**stacked, thresholds=F.BENCHMARK_EDGE_THRESHOLDS)


def run_edge_benchmark(
    images: int = 4,
    reference_images: Optional[int] = None,
    processes: int = 2,
    size: Tuple[int, int] = (480, 640),
    max_dist: float = 0.011,
    seed: int = 0,
    reference: bool = True,
) -> Dict[str, Any]:
    """Time both implementations on the same synthetic images and compare their results.

    Args:
        images (int): Images for mmkem. Defaults to 4.
        reference_images (int, optional): The first this many of them for pyEdgeEval (it can be
            much slower). Defaults to None (all).
        processes (int): Worker processes of each run. Defaults to 2.
        size (tuple): (H, W). Defaults to (480, 640).
        max_dist (float): Tolerance (NYUD-v2's 0.011). Defaults to 0.011.
        seed (int): Seed of the images. Defaults to 0.
        reference (bool): Run pyEdgeEval when it is installed. Defaults to True.

    Returns:
        dict: ``rows`` (implementation, images, processes, wall s, images/s, s/image, NYUD val
        estimate s, odsF, oisF, AP) and ``agreement`` (on the images both evaluated).
    """
    pairs = [synthetic_edge_pair(*size, seed=seed + i) for i in range(images)]
    jobs = [(p, g, max_dist) for p, g in pairs]
    rows = []
    ours, wall, per = _run(_ours, jobs, processes)
    rows.append(_row('mmkem (numpy/scipy)', ours, wall, per, processes))
    result: Dict[str, Any] = dict(rows=rows, agreement=None)
    if reference:
        try:
            import pyEdgeEval  # noqa: F401  (test-only reference)
        except ImportError:
            result['agreement'] = 'pyEdgeEval is not installed: no reference run'
            return result
        n = images if reference_images is None else min(reference_images, images)
        theirs, wall, per = _run(_pyedgeeval, jobs[:n], processes)
        rows.append(_row('pyEdgeEval 0.2.8 (Cython)', theirs, wall, per, processes))
        a, b = _scores(ours[:n]), _scores(theirs)
        # per threshold, the dataset's totals (what odsF is made of)
        cnt = np.stack([c['cnt_p'] for c in ours[:n]]).sum(0).astype(float)
        ref = np.stack([c['cnt_p'] for c in theirs]).sum(0).astype(float)
        sum_p = np.stack([c['sum_p'] for c in ours[:n]]).sum(0).astype(float)
        ref_p = np.stack([c['sum_p'] for c in theirs]).sum(0).astype(float)
        big = ref >= 100  # thresholds with a few pixels only say little in percent
        if not big.any():
            big = ref >= 0
        cnt, ref, sum_p, ref_p = cnt[big], ref[big], sum_p[big], ref_p[big]
        result['agreement'] = dict(
            images=n,
            odsF=(a['odsF'], b['odsF']),
            oisF=(a['oisF'], b['oisF']),
            AP=(a['AP'], b['AP']),
            max_abs_diff_points=max(abs(a[k] - b[k]) for k in ('odsF', 'oisF', 'AP')),
            matched_relative_diff_max=float(np.max(np.abs(cnt - ref) / np.maximum(ref, 1))),
            matched_relative_diff_mean=float(np.mean(np.abs(cnt - ref) / np.maximum(ref, 1))),
            predicted_relative_diff_max=float(np.max(np.abs(sum_p - ref_p) / np.maximum(ref_p, 1))),
        )
    return result


def _row(name, counts, wall, per, processes) -> Dict[str, Any]:
    s = _scores(counts)
    rate = len(counts) / wall
    return dict(
        implementation=name,
        images=len(counts),
        processes=processes,
        wall_s=wall,
        images_per_s=rate,
        s_per_image=float(np.mean(per)),
        nyud_val_estimate_s=NYUD_VAL_IMAGES / rate,
        odsF=s['odsF'],
        oisF=s['oisF'],
        AP=s['AP'],
    )


def format_table(result: Dict[str, Any]) -> str:
    """The rows as a markdown table, then the agreement."""
    lines = [
        '| implementation | images | processes | images/s | s/image (one process) | '
        'NYUD val (654) | odsF | oisF | AP |',
        '|---|---|---|---|---|---|---|---|---|',
    ]
    for r in result['rows']:
        lines.append(
            f'| {r["implementation"]} | {r["images"]} | {r["processes"]} | '
            f'{r["images_per_s"]:.3f} | {r["s_per_image"]:.2f} | '
            f'{r["nyud_val_estimate_s"] / 60:.1f} min | {r["odsF"]:.2f} | {r["oisF"]:.2f} | '
            f'{r["AP"]:.2f} |'
        )
    agreement = result['agreement']
    if isinstance(agreement, dict):
        lines.append('')
        lines.append(
            f'on the {agreement["images"]} images both evaluated: odsF {agreement["odsF"][0]:.3f} '
            f'vs {agreement["odsF"][1]:.3f}, oisF {agreement["oisF"][0]:.3f} vs '
            f'{agreement["oisF"][1]:.3f}, AP {agreement["AP"][0]:.3f} vs {agreement["AP"][1]:.3f}'
            f' (max difference {agreement["max_abs_diff_points"]:.3f} points); at a threshold '
            f'with >= 100 matches, the matched pixels of the images together '
            f'differ by {100 * agreement["matched_relative_diff_mean"]:.3f} % on average, '
            f'{100 * agreement["matched_relative_diff_max"]:.3f} % at most, the predicted pixels '
            f'by {100 * agreement["predicted_relative_diff_max"]:.3f} % at most'
        )
    elif agreement:
        lines.append('')
        lines.append(agreement)
    return '\n'.join(lines)
