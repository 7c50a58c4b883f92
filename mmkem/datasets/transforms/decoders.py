"""Decoders of ground-truth files: one registry for the kinds' formats and the releases' own.

A decoder is ``fn(content, path, results) -> np.ndarray``: ``content`` the file's bytes, ``path``
its name (for messages), ``results`` the transform's results dict (``ori_shape``, and the
dataset's ``label_offset`` / ``num_classes``). It returns the array of the task's ``gt_field``.

Which decoder reads a file: the task kind names one per file extension
(``TaskKind.decoders``, ``mmkem/tasks/kinds.py``); a dataset whose release stores a task in its own
format names a decoder per task with the data-info key ``<task>_decoder`` (PASCAL-Context's
``pascal_part``). Both are looked up here.
"""

import contextlib
import io
from typing import Callable, Dict, Iterator, Tuple

import mmcv
import numpy as np

__all__ = [
    'ANNOTATION_DECODERS',
    'get_annotation_decoder',
    'image_shape',
    'register_annotation_decoder',
    'unreadable_names',
]

Decoder = Callable[[bytes, str, dict], np.ndarray]

#: name -> decoder; see the module docstring.
ANNOTATION_DECODERS: Dict[str, Decoder] = {}


def register_annotation_decoder(name: str) -> Callable[[Decoder], Decoder]:
    """Add ``fn(content, path, results) -> np.ndarray`` to :data:`ANNOTATION_DECODERS`."""

    def _register(fn: Decoder) -> Decoder:
        if name in ANNOTATION_DECODERS and ANNOTATION_DECODERS[name] is not fn:
            raise KeyError(f'annotation decoder {name!r} is already registered')
        ANNOTATION_DECODERS[name] = fn
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


def image_shape(results: dict) -> Tuple[int, int]:
    """(H, W) of the sample's image: ``ori_shape``, else the shape of ``img``."""
    return tuple(results['ori_shape'][:2] if 'ori_shape' in results else results['img'].shape[:2])


@contextlib.contextmanager
def unreadable_names(path: str, expected: str) -> Iterator[None]:
    """Turn a decoder's own error (truncated or corrupt file) into a ValueError naming ``path``.

    Errors that already name the file (our ValueErrors start with it) pass through unchanged.
    """
    try:
        yield
    except Exception as err:
        if isinstance(err, ValueError) and str(err).startswith(path):
            raise
        raise ValueError(
            f'{path}: cannot read this file as {expected} ({type(err).__name__}: {err}); it may '
            f'be truncated or corrupt'
        ) from err


def _png(content: bytes, path: str, color: bool = False) -> np.ndarray:
    with unreadable_names(path, 'an image'):
        if color:
            array = mmcv.imfrombytes(content, flag='color', channel_order='rgb', backend='cv2')
        else:
            array = mmcv.imfrombytes(content, flag='unchanged', backend='pillow')
        if array is None:  # cv2 returns None for undecodable bytes
            raise ValueError('the decoder returned nothing')
    return array[..., 0] if array.ndim == 3 and not color else array


def _npy(content: bytes, path: str) -> np.ndarray:
    with unreadable_names(path, 'a .npy array (np.save, no pickled objects)'):
        return np.load(io.BytesIO(content))


def _as_2d(array: np.ndarray, path: str) -> np.ndarray:
    """(H, W) from (H, W), (1, H, W) or (H, W, 1); ValueError naming ``path`` otherwise."""
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    elif array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise ValueError(f'{path}: expected a (H, W) map, got shape {array.shape}')
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
        raise ValueError(
            f'{path}: label ids {sorted(np.unique(raw[bad]).tolist())[:10]} are out of range; '
            f'expected {offset}..{offset + num_classes - 1} (and 0..{offset - 1} or 255 for void)'
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
        raise ValueError(f'{path}: expected a (H, W) label map, got shape {raw.shape}')
    if np.issubdtype(raw.dtype, np.floating) and not np.array_equal(raw, np.rint(raw)):
        raise ValueError(f'{path}: label ids must be integers, found fractional values')
    label = raw.astype(np.int64)
    num_classes = _num_classes(results, path)
    ignore = (label < 0) | (label == 255)
    bad = (label >= num_classes) & ~ignore
    if bad.any():
        raise ValueError(
            f'{path}: label ids {sorted(np.unique(label[bad]).tolist())[:10]} are out of '
            f'range; expected 0..{num_classes - 1} and -1 (or 255) for ignore'
        )
    label[ignore] = 255
    return label.astype(np.uint8)


@register_annotation_decoder('depth_npy')
def decode_depth_npy(content: bytes, path: str, results: dict) -> np.ndarray:
    """float32 metres from a ``.npy`` map, 0 = invalid; non-finite or negative values are errors."""
    depth = _as_2d(_npy(content, path), path).astype(np.float32)
    if not np.isfinite(depth).all() or (depth < 0).any():
        raise ValueError(
            f'{path}: depth must be finite and >= 0 (0 = invalid); found '
            f'{int((~np.isfinite(depth)).sum())} non-finite and {int((depth < 0).sum())} negative '
            f'values'
        )
    return depth


def _check_normals(normals: np.ndarray, path: str) -> np.ndarray:
    if normals.ndim != 3 or normals.shape[-1] != 3 or not np.isfinite(normals).all():
        raise ValueError(
            f'{path}: normals must be finite with shape (H, W, 3); got {normals.shape}'
        )
    return np.ascontiguousarray(normals, dtype=np.float32)


@register_annotation_decoder('normals_png')
def decode_normals_png(content: bytes, path: str, results: dict) -> np.ndarray:
    """Unit normals from an RGB png, ``n = 2 v / 255 - 1`` renormalised.

    Pixels whose decoded length is far from 1 (mid-grey or black) become the all-zero invalid
    vector. float32 (H, W, 3).
    """
    normals = 2.0 * _png(content, path, color=True).astype(np.float32) / 255.0 - 1.0
    length = np.linalg.norm(normals, axis=-1, keepdims=True)
    valid = (length > 0.5) & (length < 1.5)
    return _check_normals(np.where(valid, normals / np.maximum(length, 1e-6), 0.0), path)


@register_annotation_decoder('normals_npy')
def decode_normals_npy(content: bytes, path: str, results: dict) -> np.ndarray:
    """Normals from a ``.npy`` array, (H, W, 3) as is or (3, H, W) transposed. float32 (H, W, 3)."""
    normals = _npy(content, path).astype(np.float32)
    if normals.ndim == 3 and normals.shape[0] == 3 and normals.shape[-1] != 3:
        normals = normals.transpose(1, 2, 0)
    return _check_normals(normals, path)


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
