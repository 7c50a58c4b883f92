"""The boundary benchmark (BSDS / SEISM) in numpy and scipy: odsF, oisF and AP of edge maps.

The protocol is the one of the multi-task literature (ASTMT, MTI-Net, ATRC, InvPT, TaskPrompter
score edges with the MATLAB SEISM package; its setup: ``eval_method.m``, ``read_one_cont_png.m``,
``edgesEvalImg.m``, ``general_ods.m``, ``general_ois.m``, ``general_ap.m``):

1. optional non-maximum suppression as P. Dollar's ``edgesNms`` (:func:`edges_nms`),
2. at each threshold t of the benchmark's list (:data:`BENCHMARK_EDGE_THRESHOLDS`, SEISM's
   ``parameters/HED.txt``) binarise with ``> t`` and thin with MATLAB's ``bwmorph(.., 'thin',
   inf)`` (:func:`thin`),
3. match the thinned map to the ground-truth boundary (:func:`seg2bmap` of the label map) with
   the BSDS ``correspondPixels`` bipartite matching: a predicted pixel and a ground-truth pixel
   may be paired when they are at most ``max_dist`` times the image diagonal apart
   (:func:`match_count`),
4. keep the per-threshold counts ``cntR, sumR, cntP, sumP`` of each image
   (:func:`boundary_counts`); :func:`boundary_scores` turns the counts of a dataset into odsF
   (best threshold for the dataset), oisF (best threshold per image) and AP, in percent.

Where the result can differ from MATLAB SEISM is listed in ``docs/metrics.md``.
"""

import zlib
from typing import Dict, Iterable, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = [
    'BENCHMARK_EDGE_THRESHOLDS',
    'boundary_counts',
    'boundary_pr_curve',
    'boundary_scores',
    'conv_tri',
    'edge_orientation',
    'edges_nms',
    'gradient2',
    'in_subset',
    'iter_counts',
    'match_count',
    'resolve_thresholds',
    'seg2bmap',
    'thin',
]

#: The benchmark's 101 thresholds (SEISM ``parameters/HED.txt``): 0.001, 0.01, ..., 0.99, 0.999.
BENCHMARK_EDGE_THRESHOLDS = tuple(
    [0.001] + np.round(np.linspace(0.01, 0.99, 99), 2).tolist() + [0.999]
)


def resolve_thresholds(thresholds: Union[int, Sequence[float]]) -> Tuple[float, ...]:
    """A threshold list, or a count K as ``edgesEvalImg``: ``linspace(1/(K+1), K/(K+1), K)``.

    Args:
        thresholds (int | Sequence[float]): The list (values in [0, 1]) or the count K >= 1.

    Returns:
        tuple[float]: The thresholds.
    """
    if isinstance(thresholds, (int, np.integer)) and not isinstance(thresholds, bool):
        if thresholds < 1:
            raise ValueError(f'edge_thresholds as a count must be >= 1, got {thresholds}')
        k = int(thresholds)
        return tuple(np.round(np.linspace(1 / (k + 1), k / (k + 1), k), 6).tolist())
    values = tuple(float(t) for t in thresholds)
    if not values or min(values) < 0 or max(values) > 1:
        raise ValueError(
            f'edge_thresholds must be a count >= 1 or a non-empty sequence in [0, 1], got '
            f'{thresholds!r}'
        )
    return values


# ------------------------------------------------------------------------------------------------
# P. Dollar's convTri, gradient2 and edgesNms
# ------------------------------------------------------------------------------------------------
def conv_tri(image: np.ndarray, r: float) -> np.ndarray:
    """Triangle filter of radius ``r`` (P. Dollar's ``convTri``), symmetric padding.

    ``r >= 1``: the separable filter ``[1 .. r, r + 1, r .. 1] / (r + 1)^2``; ``0 < r < 1``: the
    3-tap ``[1, p, 1] / (2 + p)`` with ``p = 12 / r / (r + 2) - 2``. The image is padded by
    mirroring with the border pixel repeated (MATLAB ``padarray(.., 'symmetric')``).

    Args:
        image (np.ndarray): (H, W) float map.
        r (float): Radius; 0 returns the image.

    Returns:
        np.ndarray: (H, W), the dtype of ``image``.
    """
    image = np.asarray(image)
    if r == 0 or image.size == 0:
        return image
    if r < 1:
        p = 12.0 / r / (r + 2) - 2
        kernel = np.array([1.0, p, 1.0]) / (2 + p)
        rad = 1
    else:
        rad = int(r)
        kernel = np.concatenate([np.arange(1, rad + 2), np.arange(rad, 0, -1)]) / (rad + 1) ** 2
    from scipy.ndimage import correlate1d  # on first use: mmkem imports without scipy

    kernel = kernel.astype(image.dtype)
    padded = np.pad(image, rad, mode='symmetric')
    out = correlate1d(padded, kernel, axis=0, mode='constant')[rad:-rad]
    return correlate1d(out, kernel, axis=1, mode='constant')[:, rad:-rad]


def gradient2(image: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Numerical gradients (Ox, Oy) as MATLAB's ``gradient``: central inside, one-sided at borders.

    Args:
        image (np.ndarray): (H, W).

    Returns:
        tuple: ``ox`` (d/dx, along columns) and ``oy`` (d/dy, along rows), both (H, W).
    """
    image = np.asarray(image)
    return _gradient(image, 1), _gradient(image, 0)


def _gradient(image: np.ndarray, axis: int) -> np.ndarray:
    out = np.zeros_like(image)
    if image.shape[axis] < 2:
        return out  # MATLAB: a single row or column has no slope along it
    a = np.moveaxis(image, axis, 0)
    o = np.moveaxis(out, axis, 0)
    o[0] = a[1] - a[0]
    o[-1] = a[-1] - a[-2]
    o[1:-1] = (a[2:] - a[:-2]) / 2
    return out


def edge_orientation(edge: np.ndarray, r: int = 4) -> np.ndarray:
    """Edge orientation in [0, π) from the second derivatives of the ``r``-smoothed map.

    ``O = mod(atan(Oyy * sign(-Oxy) / (Oxx + 1e-5)), π)`` of ``convTri(E, 4)``, as Dollar's
    ``edgesDetect`` and the HED / BSDS NMS scripts compute it.
    """
    ox, oy = gradient2(conv_tri(edge, r))
    oxx, _ = gradient2(ox)
    oxy, oyy = gradient2(oy)
    with np.errstate(divide='ignore', invalid='ignore'):
        ratio = oyy * np.sign(-oxy) / (oxx + 1e-5)
    return np.mod(np.arctan(ratio), np.pi).astype(edge.dtype)


def _interp(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear ``I[y, x]``, the coordinates clamped to [0, w - 1.001] x [0, h - 1.001]."""
    h, w = image.shape
    x = np.clip(x, 0, x.dtype.type(w - 1.001))
    y = np.clip(y, 0, y.dtype.type(h - 1.001))
    x0 = x.astype(np.int64)
    y0 = y.astype(np.int64)
    dx0 = x - x0
    dy0 = y - y0
    dx1 = 1 - dx0
    dy1 = 1 - dy0
    # a map one pixel high or wide has no second row / column (the C++ reads past its end)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    return (
        image[y0, x0] * dx1 * dy1
        + image[y0, x1] * dx0 * dy1
        + image[y1, x0] * dx1 * dy0
        + image[y1, x1] * dx0 * dy0
    )


def edges_nms(
    edge: np.ndarray,
    r: int = 1,
    s: int = 5,
    m: float = 1.01,
    smooth: float = 1,
    orientation: Optional[np.ndarray] = None,
    dtype=np.float32,
) -> np.ndarray:
    """Non-maximum suppression of an edge map, as P. Dollar's ``edgesNmsMex``.

    The map is first smoothed with ``convTri(E, smooth)`` (as ``edgesDetect`` and pyEdgeEval's
    ``fast_nms``); the orientation comes from ``convTri(E, 4)`` (:func:`edge_orientation`). A
    pixel is suppressed where ``m * e`` is below the bilinearly interpolated value at one of the
    distances ``d = ±1 .. ±r`` across the edge; then the ``s`` pixels next to each image border
    are attenuated linearly (``x / s``), the outermost one to 0. float32 arithmetic as the MEX
    file (pyEdgeEval's port computes in float64: ``dtype=np.float64`` gives its result).

    Args:
        edge (np.ndarray): (H, W) probabilities in [0, 1].
        r (int): Suppression radius. Defaults to 1.
        s (int): Border pixels attenuated. Defaults to 5.
        m (float): Multiplier for conservative suppression. Defaults to 1.01.
        smooth (float): ``convTri`` radius applied before everything; 0 for none. Defaults to 1.
        orientation (np.ndarray, optional): (H, W) orientation in radians instead of
            :func:`edge_orientation`. Defaults to None.
        dtype: Floating-point type of the computation. Defaults to ``np.float32``.

    Returns:
        np.ndarray: (H, W) thinned edge strengths of ``dtype``.
    """
    edge = np.asarray(edge, dtype=dtype)
    if edge.ndim != 2:
        raise ValueError(f'edges_nms expects an (H, W) map, got shape {edge.shape}')
    edge = conv_tri(edge, smooth).astype(dtype)
    orient = edge_orientation(edge) if orientation is None else np.asarray(orientation)
    out = edge.copy()
    ys, xs = np.nonzero(edge)
    if ys.size:
        e = edge[ys, xs] * edge.dtype.type(m)
        o = orient[ys, xs].astype(dtype)
        cos, sin = np.cos(o), np.sin(o)
        xf, yf = xs.astype(dtype), ys.astype(dtype)
        suppressed = np.zeros(ys.size, dtype=bool)
        for d in range(-r, r + 1):
            if d == 0:
                continue
            d = edge.dtype.type(d)
            suppressed |= e < _interp(edge, xf + d * cos, yf + d * sin)
        out[ys[suppressed], xs[suppressed]] = 0
    h, w = out.shape
    s = min(s, w // 2, h // 2)
    for x in range(s):
        factor = edge.dtype.type(x / s)
        out[:, x] *= factor
        out[:, w - 1 - x] *= factor
    for y in range(s):
        factor = edge.dtype.type(y / s)
        out[y, :] *= factor
        out[h - 1 - y, :] *= factor
    return out


# ------------------------------------------------------------------------------------------------
# thinning, ground-truth boundaries, matching
# ------------------------------------------------------------------------------------------------
def _thin_luts() -> Tuple[np.ndarray, np.ndarray]:
    """Deletion look-up tables of the two subiterations (Guo & Hall's conditions G1, G2, G3, G3').

    The index is the 8-neighbourhood code: bit 0 east, then counter-clockwise (NE, N, NW, W, SW,
    S, SE), the numbering x1 .. x8 of Lam, Lee and Suen (1992) that MATLAB's ``bwmorph`` cites.
    """
    bits = (np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1 > 0
    b = [bits[:, i] for i in range(8)]
    g1 = sum((~b[i] & (b[i + 1] | b[(i + 2) % 8])).astype(int) for i in (0, 2, 4, 6)) == 1
    n1 = sum((b[k] | b[k - 1]).astype(int) for k in (1, 3, 5, 7))
    n2 = sum((b[k] | b[(k + 1) % 8]).astype(int) for k in (1, 3, 5, 7))
    g2 = (np.minimum(n1, n2) >= 2) & (np.minimum(n1, n2) <= 3)
    g3 = ~((b[1] | b[2] | ~b[7]) & b[0])
    g3p = ~((b[5] | b[6] | ~b[3]) & b[4])
    return g1 & g2 & g3, g1 & g2 & g3p


_THIN_LUTS = _thin_luts()


def thin(binary: np.ndarray) -> np.ndarray:
    """MATLAB's ``bwmorph(B, 'thin', inf)``: Guo & Hall's two-subiteration thinning, to the end.

    The look-up tables of :func:`skimage.morphology.thin` (which documents the same algorithm
    as MATLAB), applied only to the pixels that are on, so a sparse map thins in a few
    milliseconds; the tests compare it with scikit-image and with pyEdgeEval's port.

    Args:
        binary (np.ndarray): (H, W) bool.

    Returns:
        np.ndarray: (H, W) bool.
    """
    binary = np.asarray(binary, dtype=bool)
    if binary.ndim != 2:
        raise ValueError(f'thin expects an (H, W) map, got shape {binary.shape}')
    h, w = binary.shape
    stride = w + 2
    skel = np.zeros((h + 2, stride), dtype=np.uint8)
    skel[1:-1, 1:-1] = binary
    flat = skel.ravel()
    # bit k of the code: the neighbour at offsets[k] (east, then counter-clockwise)
    offsets = np.array(
        [1, -stride + 1, -stride, -stride - 1, -1, stride - 1, stride, stride + 1], dtype=np.int64
    )
    weights = (1 << np.arange(8)).astype(np.int64)
    # A pixel's decision depends on its 3x3 neighbourhood only: after the first look, a
    # subiteration re-examines only the pixels next to a deletion since its last turn (the
    # result is the one of examining every pixel every time, as bwmorph).
    todo = [None, None]  # pixels a subiteration must look at (again); None: every pixel on
    turn, idle = 0, 0
    while idle < 2:  # two subiterations in a row without deletion: a pass changed nothing
        if todo[turn] is None:
            candidates = np.flatnonzero(flat)
            todo[turn] = np.zeros_like(flat)
        else:
            candidates = np.flatnonzero(todo[turn] & flat)
            todo[turn][:] = 0
        code = (flat[candidates[:, None] + offsets[None, :]].astype(np.int64) * weights).sum(1)
        deleted = candidates[_THIN_LUTS[turn][code]]
        if deleted.size:
            flat[deleted] = 0  # all decisions of a subiteration from the same image
            near = (deleted[:, None] + offsets[None, :]).ravel()
            for pending in todo:
                if pending is not None:
                    pending[near] = 1
            idle = 0
        else:
            idle += 1
        turn = 1 - turn
    return skel[1:-1, 1:-1].astype(bool)


def seg2bmap(seg: np.ndarray) -> np.ndarray:
    """Boundary map of a segmentation, as the BSDS ``seg2bmap`` (which SEISM applies to every GT).

    A pixel is on the boundary where its right, lower or lower-right neighbour has another label;
    in the last row only the right neighbour counts, in the last column only the lower one, and
    the bottom-right pixel is never on. The boundary lies half a pixel towards the origin.

    Args:
        seg (np.ndarray): (H, W) labels (a 0 / 1 edge map counts as two labels, as SEISM reads
            NYUD-v2's edge PNGs).

    Returns:
        np.ndarray: (H, W) bool.
    """
    seg = np.asarray(seg)
    if seg.ndim != 2:
        raise ValueError(f'seg2bmap expects an (H, W) label map, got shape {seg.shape}')
    bmap = np.zeros(seg.shape, dtype=bool)
    bmap[:, :-1] |= seg[:, :-1] != seg[:, 1:]
    bmap[:-1, :] |= seg[:-1, :] != seg[1:, :]
    bmap[:-1, :-1] |= seg[:-1, :-1] != seg[1:, 1:]
    bmap[-1, :-1] = seg[-1, :-1] != seg[-1, 1:]
    bmap[:-1, -1] = seg[:-1, -1] != seg[1:, -1]
    bmap[-1, -1] = False
    return bmap


def _disk_offsets(radius: float) -> Tuple[np.ndarray, np.ndarray]:
    """Integer offsets (dy, dx) with dy² + dx² <= radius² (``correspondPixels``' window)."""
    r = int(np.ceil(radius))
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    keep = dy**2 + dx**2 <= radius * radius
    return dy[keep], dx[keep]


class _GroundTruthNeighbours:
    """For one ground-truth boundary: which GT pixels lie within the tolerance of every pixel.

    A CSR matrix with one row per image pixel (H * W) and one column per GT pixel, built once per
    image; the matching at each threshold only slices the rows of the predicted pixels.
    """

    def __init__(self, gt: np.ndarray, max_dist: float) -> None:
        h, w = gt.shape
        self.shape = (h, w)
        self.radius = max_dist * np.sqrt(h * h + w * w)
        gy, gx = np.nonzero(gt)
        self.num_gt = gy.size
        dy, dx = _disk_offsets(self.radius)  # row-major order: increasing linear offsets
        py = gy[:, None] + dy[None, :]
        px = gx[:, None] + dx[None, :]
        inside = (py >= 0) & (py < h) & (px >= 0) & (px < w)
        # one column per GT pixel, its neighbours already sorted: CSC without sorting, then CSR
        rows = (py * w + px)[inside].astype(np.int32)
        indptr = np.zeros(gy.size + 1, dtype=np.int64)
        np.cumsum(inside.sum(1), out=indptr[1:])
        if gy.size == 0:
            indptr = np.zeros(2, dtype=np.int64)
        from scipy import sparse  # on first use: mmkem imports without scipy

        self.matrix = sparse.csc_matrix(
            (np.ones(rows.size, dtype=np.int8), rows, indptr), shape=(h * w, max(gy.size, 1))
        ).tocsr()
        self.near = np.diff(self.matrix.indptr) > 0

    def count(self, pred: np.ndarray) -> int:
        """Size of a maximum matching between the pixels of ``pred`` and the GT pixels."""
        if self.num_gt == 0:
            return 0
        flat = np.flatnonzero(pred)
        flat = flat[self.near[flat]]
        if flat.size == 0:
            return 0
        from scipy.sparse.csgraph import maximum_bipartite_matching

        graph = self.matrix[flat]
        matched = maximum_bipartite_matching(graph, perm_type='column')
        return int(np.count_nonzero(matched >= 0))


def match_count(pred: np.ndarray, gt: np.ndarray, max_dist: float = 0.0075) -> int:
    """Matched pixels of the BSDS ``correspondPixels(pred, gt, max_dist)``.

    ``correspondPixels`` solves a minimum-cost assignment in which a predicted pixel and a GT
    pixel at most ``max_dist * diagonal`` apart may be paired at the cost of their distance, and
    every pixel may instead go to an outlier node at a cost of ``100 * max_dist * diagonal``
    (far above any pair). Every pair then saves more than any rearrangement of distances costs,
    so the optimum pairs as many pixels as possible: its number of matches, which is all the
    benchmark counts (``cntP = cntR`` for one GT), is the size of a maximum bipartite matching in
    the graph of pairs within the tolerance. This computes that size (Hopcroft-Karp, scipy)
    instead of the assignment; which pixels are paired is not needed. ``docs/metrics.md`` says
    where the two can differ.

    Args:
        pred (np.ndarray): (H, W) bool, the (thinned) predicted boundary.
        gt (np.ndarray): (H, W) bool, the ground-truth boundary.
        max_dist (float): Tolerance as a fraction of the image diagonal. Defaults to 0.0075.

    Returns:
        int: The number of matched pairs.
    """
    pred, gt = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    if pred.shape != gt.shape or pred.ndim != 2:
        raise ValueError(f'match_count: pred {pred.shape} and gt {gt.shape} must be equal (H, W)')
    return _GroundTruthNeighbours(gt, max_dist).count(pred)


def in_subset(name: Optional[str], every: int) -> bool:
    """Whether an image belongs to the 1-in-``every`` subset: crc32 of its file name, mod ``every``.

    The choice depends only on the file name, so every rank, run and order picks the same images.
    """
    if every <= 1:
        return True
    key = '' if name is None else str(name).replace('\\', '/').rsplit('/', 1)[-1]
    return zlib.crc32(key.encode('utf-8')) % every == 0


def boundary_counts(
    pred: np.ndarray,
    gt: np.ndarray,
    thresholds: Sequence[float] = BENCHMARK_EDGE_THRESHOLDS,
    max_dist: float = 0.0075,
    nms: bool = True,
    apply_thin: bool = True,
    quantize: bool = True,
    gt_boundaries: bool = False,
    ignore_index: Optional[int] = 255,
) -> Dict[str, np.ndarray]:
    """Per-threshold counts of one image (``edgesEvalImg``'s ``cntR, sumR, cntP, sumP``).

    Args:
        pred (np.ndarray): (H, W) or (1, H, W) edge probabilities in [0, 1].
        gt (np.ndarray): Same size: the ground-truth boundary map ({0, 1}; ``ignore_index``
            counts as 0), or a label map when ``gt_boundaries``.
        thresholds (Sequence[float]): Thresholds; a pixel is on at t where its value is ``> t``
            (``read_one_cont_png``). Defaults to the benchmark's 101.
        max_dist (float): Matching tolerance, fraction of the diagonal (0.0075 PASCAL-Context,
            0.011 NYUD-v2). Defaults to 0.0075.
        nms (bool): Apply :func:`edges_nms` first. Defaults to True.
        apply_thin (bool): Thin the binary map at each threshold. Defaults to True.
        quantize (bool): Round the map to the 1/255 grid before and after NMS, as the PNG files
            of the MATLAB pipeline hold it (``round(p * 255)``). Defaults to True.
        gt_boundaries (bool): Take :func:`seg2bmap` of ``gt`` (SEISM reads NYUD-v2's edge PNGs
            and PASCAL-Context's ``LabelMap`` as label maps). Defaults to False.
        ignore_index (int, optional): GT value that is not a boundary. Defaults to 255.

    Returns:
        dict: ``cnt_r``, ``sum_r``, ``cnt_p``, ``sum_p``: (T,) int64.
    """
    pred = np.asarray(pred, dtype=np.float32)
    gt = np.asarray(gt)
    if pred.ndim == 3 and pred.shape[0] == 1:
        pred = pred[0]
    if gt.ndim == 3 and gt.shape[0] == 1:
        gt = gt[0]
    if pred.shape != gt.shape or pred.ndim != 2:
        raise ValueError(
            f'edge prediction {pred.shape} and ground truth {gt.shape} must be (H, W) of one size'
        )
    if gt_boundaries:
        gt_map = seg2bmap(gt)
    else:
        gt_map = (gt >= 0.5) if ignore_index is None else ((gt >= 0.5) & (gt != ignore_index))
    if quantize:
        pred = np.rint(np.clip(pred, 0, 1) * 255) / np.float32(255)
    if nms:
        pred = edges_nms(pred)
        if quantize:
            pred = np.rint(np.clip(pred, 0, 1) * 255) / np.float32(255)
    neighbours = _GroundTruthNeighbours(gt_map, max_dist)
    t_count = len(thresholds)
    cnt = np.zeros(t_count, dtype=np.int64)
    sum_p = np.zeros(t_count, dtype=np.int64)
    previous = None
    for i, t in enumerate(thresholds):
        on = pred > np.float32(t)
        if apply_thin:
            on = thin(on)
        flat = np.flatnonzero(on)
        if previous is not None and np.array_equal(flat, previous[0]):
            cnt[i], sum_p[i] = previous[1], previous[2]
            continue
        cnt[i] = neighbours.count(on)
        sum_p[i] = flat.size
        previous = (flat, cnt[i], sum_p[i])
    sum_r = np.full(t_count, int(gt_map.sum()), dtype=np.int64)
    return dict(cnt_r=cnt, sum_r=sum_r, cnt_p=cnt.copy(), sum_p=sum_p)


# ------------------------------------------------------------------------------------------------
# dataset scores (SEISM gather_measure / general_ods / general_ois / general_ap)
# ------------------------------------------------------------------------------------------------
def _prf_image(cnt_r, sum_r, cnt_p, sum_p):
    """P, R, F of ``eval_cont.m``: no GT -> (P, R) = (0, 1); no prediction -> (1, 0)."""
    cnt_r, sum_r, cnt_p, sum_p = (
        np.asarray(v, dtype=np.float64) for v in (cnt_r, sum_r, cnt_p, sum_p)
    )
    with np.errstate(divide='ignore', invalid='ignore'):
        rec = np.where(sum_r == 0, 1.0, np.where(sum_p == 0, 0.0, cnt_r / sum_r))
        prec = np.where(sum_r == 0, 0.0, np.where(sum_p == 0, 1.0, cnt_p / sum_p))
        f = np.where(prec + rec == 0, 0.0, 2 * prec * rec / (prec + rec))
    return prec, rec, f


def _prf_dataset(cnt_r, sum_r, cnt_p, sum_p):
    """P, R, F of ``gather_measure.m`` from summed counts (its special cases in its order)."""
    cnt_r, sum_r, cnt_p, sum_p = (
        np.asarray(v, dtype=np.float64) for v in (cnt_r, sum_r, cnt_p, sum_p)
    )
    rec = np.zeros_like(sum_p)
    prec = np.zeros_like(sum_p)
    no_gt = (sum_r == 0) & (cnt_p == 0)
    rec[no_gt], prec[no_gt] = 1.0, 0.0
    no_pred = (sum_p == 0) & (cnt_r == 0)
    rec[no_pred], prec[no_pred] = 0.0, 1.0
    some = (sum_p != 0) & (cnt_r != 0)
    rec[some] = cnt_r[some] / sum_r[some]
    prec[some] = cnt_p[some] / sum_p[some]
    with np.errstate(divide='ignore', invalid='ignore'):
        f = np.where(prec + rec == 0, 0.0, 2 * prec * rec / (prec + rec))
    return prec, rec, f


def _average_precision(prec: np.ndarray, rec: np.ndarray) -> float:
    """``general_ap.m``: precision interpolated at recall 0, 0.01, ..., 1, summed, / 100.

    ``unique`` keeps, for each distinct recall, its first threshold (MATLAB's default since
    R2013a); recall points outside the curve's range do not count.
    """
    values, first = np.unique(rec, return_index=True)
    if values.size < 2:
        return 0.0
    grid = np.linspace(0, 1, 101)
    inside = (grid >= values[0]) & (grid <= values[-1])
    interp = np.interp(grid[inside], values, prec[first])
    return float(interp.sum() / 100)


def boundary_scores(
    cnt_r: np.ndarray,
    sum_r: np.ndarray,
    cnt_p: np.ndarray,
    sum_p: np.ndarray,
    thresholds: Optional[Sequence[float]] = None,
) -> Dict[str, float]:
    """odsF, oisF and AP (percent) from per-image counts, as SEISM.

    - ``odsF``: counts summed over the dataset at each threshold, F = 2PR / (P + R), the best
      threshold (first of equal ones; no interpolation between thresholds).
    - ``oisF``: each image's best threshold by its own F, the counts at those thresholds summed,
      then F of the sums.
    - ``AP``: the dataset precision at recall 0, 0.01, ..., 1, linearly interpolated along the
      PR curve, summed and divided by 100 (``general_ap.m``).

    Args:
        cnt_r, sum_r, cnt_p, sum_p (np.ndarray): (N, T) per-image counts of
            :func:`boundary_counts`.
        thresholds (Sequence[float], optional): The T thresholds, to report the ODS threshold.

    Returns:
        dict: ``odsF``, ``oisF``, ``AP`` (percent), ``ods_threshold`` (nan without thresholds),
        ``ods_precision``, ``ods_recall`` (percent).
    """
    arrays = [np.atleast_2d(np.asarray(v, dtype=np.float64)) for v in (cnt_r, sum_r, cnt_p, sum_p)]
    if any(a.shape != arrays[0].shape for a in arrays):
        raise ValueError(
            f'boundary_scores: count arrays differ in shape {[a.shape for a in arrays]}'
        )
    if arrays[0].shape[0] == 0:
        nan = float('nan')
        return dict(
            odsF=nan, oisF=nan, AP=nan, ods_threshold=nan, ods_precision=nan, ods_recall=nan
        )
    prec, rec, f = _prf_dataset(*(a.sum(0) for a in arrays))
    best = int(np.argmax(f))
    _, _, f_img = _prf_image(*arrays)
    per_image = np.argmax(f_img, axis=1)
    rows = np.arange(arrays[0].shape[0])
    picked = [a[rows, per_image].sum() for a in arrays]
    # general_ois.m: eval_cont's special cases on the summed counts
    _, _, f_ois = _prf_image(*picked)
    return dict(
        odsF=float(f[best] * 100),
        oisF=float(f_ois * 100),
        AP=_average_precision(prec, rec) * 100,
        ods_threshold=float(thresholds[best]) if thresholds is not None else float('nan'),
        ods_precision=float(prec[best] * 100),
        ods_recall=float(rec[best] * 100),
    )


def boundary_pr_curve(
    cnt_r: np.ndarray, sum_r: np.ndarray, cnt_p: np.ndarray, sum_p: np.ndarray
) -> Dict[str, np.ndarray]:
    """Dataset precision, recall and F at each threshold (fractions), for the PR curve."""
    arrays = [
        np.atleast_2d(np.asarray(v, dtype=np.float64)).sum(0) for v in (cnt_r, sum_r, cnt_p, sum_p)
    ]
    prec, rec, f = _prf_dataset(*arrays)
    return dict(precision=prec, recall=rec, f=f)


def iter_counts(
    pairs: Iterable[Tuple[np.ndarray, np.ndarray]], workers: int = 0, **options
) -> Iterable[Dict[str, np.ndarray]]:
    """:func:`boundary_counts` of each ``(pred, gt)`` pair, over ``workers`` processes (0: here).

    Yields the counts in the order of ``pairs``.
    """
    if workers <= 0:
        for pred, gt in pairs:
            yield boundary_counts(pred, gt, **options)
        return
    import functools
    import multiprocessing

    job = functools.partial(_counts_of_pair, options=options)
    with multiprocessing.get_context().Pool(workers) as pool:
        yield from pool.imap(job, pairs, chunksize=1)


def _counts_of_pair(pair, options):
    return boundary_counts(pair[0], pair[1], **options)
