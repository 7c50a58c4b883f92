"""Decoders of ground-truth files: one registry for the kinds' formats and the releases' own.

A decoder is ``fn(content, path, results) -> np.ndarray``: ``content`` the file's bytes, ``path``
its name (for messages), ``results`` the transform's results dict (``ori_shape``, the dataset's
``label_offset`` / ``num_classes``, and ``decode_options``: the decoder's options, see below). It
returns the array of the task's ``gt_field``. A file it cannot use raises
:class:`~mmkem.datasets.transforms.errors.BadAnnotationError` naming the file and what was
expected.

Which decoder reads a file: the task kind names one per file extension
(``TaskKind.decoders``, ``mmkem/tasks/kinds.py``); a dataset whose release stores a task in its own
format names a decoder per task with the data-info key ``<task>_decoder`` (PASCAL-Context's
``pascal_part``). Both are looked up here.

Options: a decoder registers its options with their defaults
(``register_annotation_decoder(name, options=...)``, :data:`DECODER_OPTIONS`);
``LoadMultiTaskAnnotations(decode_options={task: {...}})`` overrides them per task:

- ``depth_npy``: ``rescale_factor`` (default 1.0; the stored values are multiplied by it, as
  mmseg's ``LoadDepthAnnotation(depth_rescale_factor=...)``: 0.001 for a release in
  millimetres) and ``max_depth`` (default 100.0 metres, after rescaling; a larger value is an
  error that suggests ``rescale_factor``; None turns the check off). No indoor or driving dataset
  in common use measures beyond 100 m (NYUD-v2's Kinect: 10 m; KITTI's LiDAR: 80 m), while
  millimetres put an indoor scene in the thousands.
- ``normals_png`` / ``normals_npy``: ``require_valid`` (default True): a file in which no pixel
  is a unit normal (an all-black or all-grey png, an all-zero array) is an error.

Audits (``mmkem/datasets/transforms/audits.py``) look at a file a decoder accepts for what
training tolerates but a release should not contain (edge / saliency pngs with values other than
0 / 255): ``tools/analysis/check_dataset.py`` runs them; training does not.
"""

import contextlib
import io
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Tuple

import cv2
import mmcv
import numpy as np

from .errors import BadAnnotationError, bad_file

__all__ = [
    'ANNOTATION_DECODERS',
    'DECODER_OPTIONS',
    'decoder_options',
    'get_annotation_decoder',
    'image_shape',
    'register_annotation_decoder',
    'unreadable_names',
]

Decoder = Callable[[bytes, str, dict], np.ndarray]

#: name -> decoder; see the module docstring.
ANNOTATION_DECODERS: Dict[str, Decoder] = {}

#: name -> the decoder's options and their defaults; see the module docstring.
DECODER_OPTIONS: Dict[str, Dict[str, Any]] = {}


def register_annotation_decoder(
    name: str, options: Optional[Mapping[str, Any]] = None
) -> Callable[[Decoder], Decoder]:
    """Add ``fn(content, path, results) -> np.ndarray`` to :data:`ANNOTATION_DECODERS`.

    Args:
        name (str): The decoder's name (``TaskKind.decoders``, ``<task>_decoder``).
        options (Mapping, optional): The options the decoder reads from
            ``results['decode_options']`` and their defaults. Defaults to None (none).
    """

    def _register(fn: Decoder) -> Decoder:
        if name in ANNOTATION_DECODERS and ANNOTATION_DECODERS[name] is not fn:
            raise KeyError(f'annotation decoder {name!r} is already registered')
        ANNOTATION_DECODERS[name] = fn
        DECODER_OPTIONS[name] = dict(options or {})
        return fn

    return _register


def get_annotation_decoder(name: str, what: str) -> Decoder:
    """The decoder called ``name``; ``what`` says who asked, for the error message."""
    if name not in ANNOTATION_DECODERS:
        raise KeyError(
            f'{what}={name!r} is not a registered annotation decoder; known: '
            f'{sorted(ANNOTATION_DECODERS)}'
        )
    return ANNOTATION_DECODERS[name]


def decoder_options(name: str, given: Optional[Mapping[str, Any]], what: str) -> Dict[str, Any]:
    """The options of decoder ``name``: its defaults updated with ``given``.

    Raises:
        ValueError: ``given`` names an option the decoder does not take; ``what`` says where it
            was given.
    """
    defaults = DECODER_OPTIONS.get(name, {})
    unknown = sorted(set(given or {}) - set(defaults))
    if unknown:
        raise ValueError(
            f'{what}: decoder {name!r} has no option(s) {unknown}; it takes {sorted(defaults)}'
        )
    return {**defaults, **(given or {})}


def _options(results: dict, name: str) -> Dict[str, Any]:
    """The options the loader passed, else the decoder's defaults (a direct call)."""
    options = results.get('decode_options')
    return dict(DECODER_OPTIONS[name]) if options is None else options


def _task(results: dict, default: str) -> str:
    return results.get('decode_task') or default


def image_shape(results: dict) -> Tuple[int, int]:
    """(H, W) of the sample's image: ``ori_shape``, else the shape of ``img``."""
    return tuple(results['ori_shape'][:2] if 'ori_shape' in results else results['img'].shape[:2])


@contextlib.contextmanager
def unreadable_names(path: str, expected: str) -> Iterator[None]:
    """Turn a decoder's own error (truncated or corrupt file) into a BadAnnotationError naming
    ``path`` (problem ``'unreadable file'``).

    Errors that already name the file (our ValueErrors start with it) keep their message.
    """
    try:
        yield
    except BadAnnotationError:
        raise
    except Exception as err:
        if isinstance(err, ValueError) and str(err).startswith(path):
            raise BadAnnotationError(str(err), path) from err
        raise bad_file(
            path,
            'unreadable file',
            f'cannot read this file as {expected} ({type(err).__name__}: {err}); it may be '
            f'truncated or corrupt',
        ) from err


def _png(content: bytes, path: str) -> np.ndarray:
    """A one-channel map from a png (the first channel of a colour one)."""
    with unreadable_names(path, 'an image'):
        array = mmcv.imfrombytes(content, flag='unchanged', backend='pillow')
    return array[..., 0] if array.ndim == 3 else array


def _png_rgb(content: bytes, path: str, what: str, problem: str) -> Tuple[np.ndarray, int]:
    """(H, W, 3) RGB of a 3-channel png, and the largest value of its dtype (255 or 65535)."""
    with unreadable_names(path, 'an image'):
        array = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_UNCHANGED)
        if array is None:  # cv2 returns None for undecodable bytes
            raise ValueError('the decoder returned nothing')
    channels = 1 if array.ndim == 2 else array.shape[2]
    if channels != 3:
        grey = ' (saved as one grey channel)' if channels == 1 else ''
        raise bad_file(
            path,
            problem,
            f'{what} must be an RGB png (3 channels); this file has {channels} channel(s){grey}',
        )
    return np.ascontiguousarray(array[..., ::-1]), int(np.iinfo(array.dtype).max)


def _npy(content: bytes, path: str) -> np.ndarray:
    with unreadable_names(path, 'a .npy array (np.save, no pickled objects)'):
        return np.load(io.BytesIO(content))


def _as_2d(array: np.ndarray, path: str) -> np.ndarray:
    """(H, W) from (H, W), (1, H, W) or (H, W, 1); BadAnnotationError naming ``path`` otherwise."""
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    elif array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise bad_file(path, 'wrong shape', f'expected a (H, W) map, got shape {array.shape}')
    return array


def _num_classes(results: dict, path: str) -> int:
    if 'num_classes' not in results:
        raise KeyError(
            f'{path}: decoding a label map needs the number of classes: the dataset must put '
            f'num_classes in each data info (its METAINFO classes)'
        )
    return int(results['num_classes'])


@register_annotation_decoder('label_png')
def decode_label_png(content: bytes, path: str, results: dict) -> np.ndarray:
    """Class ids from a png: release id ``v`` -> train id ``v - label_offset``.

    Ids below the offset (NYUD's 0 = void) and 255 become 255 (ignore); ids at or above
    ``label_offset + num_classes`` are an error naming the file. uint8 (H, W).
    """
    raw = _png(content, path).astype(np.int64)
    offset = results.get('label_offset', 0)
    num_classes = _num_classes(results, path)
    label = raw - offset
    label[(raw < offset) | (raw == 255)] = 255
    bad = (label >= num_classes) & (label != 255)
    if bad.any():
        raise bad_file(
            path,
            'label out of range',
            f'label ids {sorted(np.unique(raw[bad]).tolist())[:10]} are out of range; '
            f'expected {offset}..{offset + num_classes - 1} (and 0..{offset - 1} or 255 for void)',
        )
    return label.astype(np.uint8)


@register_annotation_decoder('label_npy')
def decode_label_npy(content: bytes, path: str, results: dict) -> np.ndarray:
    """Train ids from a ``.npy`` map (MTAN / LibMTL: 0..12, -1 = ignore).

    Negative ids and 255 become 255; fractional values and ids at or above ``num_classes`` are an
    error naming the file. uint8 (H, W).
    """
    raw = _npy(content, path)
    if raw.ndim == 3 and 1 in (raw.shape[0], raw.shape[-1]):
        raw = raw.reshape(raw.shape[1:] if raw.shape[0] == 1 else raw.shape[:2])
    if raw.ndim != 2:
        raise bad_file(path, 'wrong shape', f'expected a (H, W) label map, got shape {raw.shape}')
    if np.issubdtype(raw.dtype, np.floating) and not np.array_equal(raw, np.rint(raw)):
        raise bad_file(path, 'bad file', 'label ids must be integers, found fractional values')
    label = raw.astype(np.int64)
    num_classes = _num_classes(results, path)
    ignore = (label < 0) | (label == 255)
    bad = (label >= num_classes) & ~ignore
    if bad.any():
        raise bad_file(
            path,
            'label out of range',
            f'label ids {sorted(np.unique(label[bad]).tolist())[:10]} are out of range; '
            f'expected 0..{num_classes - 1} and -1 (or 255) for ignore',
        )
    label[ignore] = 255
    return label.astype(np.uint8)


@register_annotation_decoder('depth_npy', options=dict(rescale_factor=1.0, max_depth=100.0))
def decode_depth_npy(content: bytes, path: str, results: dict) -> np.ndarray:
    """float32 metres from a ``.npy`` map, 0 = invalid.

    The stored values are multiplied by the option ``rescale_factor``; non-finite or negative
    values, and values above the option ``max_depth`` (metres, after rescaling), are errors naming
    the file (the latter suggests ``rescale_factor``: a release in millimetres).
    """
    options = _options(results, 'depth_npy')
    depth = _as_2d(_npy(content, path), path).astype(np.float32)
    if not np.isfinite(depth).all() or (depth < 0).any():
        raise bad_file(
            path,
            'depth not finite or negative',
            f'depth must be finite and >= 0 (0 = invalid); found '
            f'{int((~np.isfinite(depth)).sum())} non-finite and {int((depth < 0).sum())} negative '
            f'values',
        )
    factor = options['rescale_factor']
    if factor != 1:
        depth = depth * np.float32(factor)
    max_depth = options['max_depth']
    if max_depth is not None and depth.size and depth.max() > max_depth:
        task = _task(results, 'depth')
        scaled = f' after rescale_factor={factor:g}' if factor != 1 else ''
        raise bad_file(
            path,
            'depth implausible',
            f'{int((depth > max_depth).sum())} of {depth.size} depth values exceed '
            f'max_depth={max_depth:g} m{scaled} (largest {float(depth.max()):g}); depth must be '
            f'in metres. A release in millimetres needs LoadMultiTaskAnnotations(decode_options='
            f"{{'{task}': dict(rescale_factor=0.001)}}); a scene that really is deeper needs a "
            f'larger max_depth (docs/troubleshooting.md)',
        )
    return depth


def _require_valid(valid: np.ndarray, path: str, results: dict, name: str, what: str) -> None:
    if _options(results, name)['require_valid'] and valid.size and not valid.any():
        task = _task(results, 'normals')
        raise bad_file(
            path,
            'normals all invalid',
            f'no pixel is a unit normal: all {valid.size} pixels are {what}. Such a file is a '
            f'failed export, not a frame without normals; if the release really has such frames, '
            f"set LoadMultiTaskAnnotations(decode_options={{'{task}': dict(require_valid=False)}})",
        )


@register_annotation_decoder('normals_png', options=dict(require_valid=True))
def decode_normals_png(content: bytes, path: str, results: dict) -> np.ndarray:
    """Unit normals from an RGB png, ``n = 2 v / 255 - 1`` renormalised (``v / 65535`` for 16 bits).

    Pixels whose decoded length is far from 1 (mid-grey or black) become the all-zero invalid
    vector. A png that is not 3-channel RGB (one grey channel, grey + alpha, RGBA) and, with the
    option ``require_valid``, a png in which no pixel is a normal (all black or all grey) are
    errors naming the file. float32 (H, W, 3).
    """
    rgb, vmax = _png_rgb(content, path, 'normals', 'normals not RGB')
    normals = 2.0 * rgb.astype(np.float32) / vmax - 1.0
    length = np.linalg.norm(normals, axis=-1, keepdims=True)
    valid = (length > 0.5) & (length < 1.5)
    _require_valid(
        valid,
        path,
        results,
        'normals_png',
        'the invalid marker (mid-grey 128, or black 0 = (-1, -1, -1))',
    )
    return _check_normals(np.where(valid, normals / np.maximum(length, 1e-6), 0.0), path)


def _check_normals(normals: np.ndarray, path: str) -> np.ndarray:
    if normals.ndim != 3 or normals.shape[-1] != 3:
        raise bad_file(
            path, 'wrong shape', f'normals must be finite with shape (H, W, 3); got {normals.shape}'
        )
    if not np.isfinite(normals).all():
        raise bad_file(
            path,
            'normals not unit length',
            f'normals must be finite with shape (H, W, 3); found '
            f'{int((~np.isfinite(normals)).any(-1).sum())} non-finite normals',
        )
    return np.ascontiguousarray(normals, dtype=np.float32)


@register_annotation_decoder('normals_npy', options=dict(require_valid=True))
def decode_normals_npy(content: bytes, path: str, results: dict) -> np.ndarray:
    """Normals from a ``.npy`` array, (H, W, 3) as is or (3, H, W) transposed. float32 (H, W, 3).

    Each vector must be of unit length (0.5 < |n| < 1.5, as the png decoder accepts) or the
    invalid zero vector; others, and with ``require_valid`` an array without any unit normal, are
    errors naming the file.
    """
    normals = _npy(content, path).astype(np.float32)
    if normals.ndim == 3 and normals.shape[0] == 3 and normals.shape[-1] != 3:
        normals = normals.transpose(1, 2, 0)
    normals = _check_normals(normals, path)
    length = np.linalg.norm(normals, axis=-1)
    valid = (length > 0.5) & (length < 1.5)
    bad = ~valid & (length > 0)
    if bad.any():
        raise bad_file(
            path,
            'normals not unit length',
            f'{int(bad.sum())} of {length.size} normals are neither unit vectors nor the invalid '
            f'(0, 0, 0) (lengths {float(length[bad].min()):.3g}..{float(length[bad].max()):.3g}); '
            f'expected |n| = 1, and all-zero for invalid pixels',
        )
    _require_valid(valid, path, results, 'normals_npy', 'the invalid marker (0, 0, 0)')
    return normals


@register_annotation_decoder('binary_png')
def decode_binary_png(content: bytes, path: str, results: dict) -> np.ndarray:
    """{0, 1} from a png with values 0 / 255 (thresholded at 128) or 0 / 1. uint8 (H, W)."""
    raw = _png(content, path)
    binary = raw >= 128 if raw.max(initial=0) > 1 else raw > 0
    return binary.astype(np.uint8)


@register_annotation_decoder('binary_npy')
def decode_binary_npy(content: bytes, path: str, results: dict) -> np.ndarray:
    """{0, 1} from a ``.npy`` map of floats thresholded at 0.5. uint8 (H, W)."""
    return (_as_2d(_npy(content, path), path) >= 0.5).astype(np.uint8)


@register_annotation_decoder('seism_boundaries')
def decode_seism_boundaries(content: bytes, path: str, results: dict) -> np.ndarray:
    """The boundary benchmark's ground truth: BSDS ``seg2bmap`` of the file read as labels.

    SEISM (``db_gt.m``) reads PASCAL-Context's ``trainval/<id>.mat`` ``LabelMap`` and NYUD-v2's
    ``edge/<id>.png`` as label maps and ``edgesEvalImg.m`` takes their ``seg2bmap``; this does
    the same for a ``.mat`` (``LabelMap``), a ``.png`` or a ``.npy``. uint8 (H, W) in {0, 1}.
    """
    from mmkem.evaluation.functional.boundary import seg2bmap  # the metric's own definition

    ext = path.rsplit('.', 1)[-1].lower()
    if ext == 'mat':
        import scipy.io

        mat = scipy.io.loadmat(io.BytesIO(content))
        if 'LabelMap' not in mat:
            raise ValueError(f'{path}: expected a "LabelMap" variable; keys: {sorted(mat)}')
        labels = mat['LabelMap']
    elif ext == 'npy':
        labels = _as_2d(_npy(content, path), path)
    else:
        labels = _png(content, path)
    return seg2bmap(labels).astype(np.uint8)
