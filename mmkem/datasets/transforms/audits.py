"""Audits: what training tolerates in a file but a release should not contain.

An audit is ``fn(content, path, results) -> BadAnnotationError or None`` for the files one decoder
reads (:data:`ANNOTATION_AUDITS`, keyed by the decoder's name). ``tools/analysis/check_dataset.py``
runs the audit of each file after its decoder accepted it; training does not run them.

- ``binary_png``: edge / saliency pngs must hold 0 / 255 or 0 / 1 only (the decoder thresholds
  other values at 128; PASCAL-Context's distilled saliency, read by ``half_threshold``, is soft
  by design and has no audit).
- ``binary_npy``: 0 / 1 only (the decoder thresholds at 0.5).
"""

from typing import Callable, Dict, Optional, Set

import numpy as np

from .decoders import _as_2d, _npy, _png
from .errors import BadAnnotationError, bad_file

__all__ = ['ANNOTATION_AUDITS', 'audit_binary_npy', 'audit_binary_png', 'register_annotation_audit']

Audit = Callable[[bytes, str, dict], Optional[BadAnnotationError]]

#: decoder name -> audit ``fn(content, path, results) -> BadAnnotationError or None``.
ANNOTATION_AUDITS: Dict[str, Audit] = {}


def register_annotation_audit(name: str) -> Callable[[Audit], Audit]:
    """Add an audit of the files decoder ``name`` reads to :data:`ANNOTATION_AUDITS`."""

    def _register(fn: Audit) -> Audit:
        if name in ANNOTATION_AUDITS and ANNOTATION_AUDITS[name] is not fn:
            raise KeyError(f'annotation audit {name!r} is already registered')
        ANNOTATION_AUDITS[name] = fn
        return fn

    return _register


def _not_binary(path: str, raw: np.ndarray, allowed: Set[int]) -> Optional[BadAnnotationError]:
    outside = ~np.isin(raw, sorted(allowed))
    if not outside.any():
        return None
    values = np.unique(raw[outside])
    more = ' ...' if values.size > 8 else ''
    return bad_file(
        path,
        'not binary',
        f'{int(outside.sum())} of {raw.size} pixels are not {" / ".join(map(str, sorted(allowed)))}'
        f' (found {values[:8].tolist()}{more}); the loader thresholds them, but an edge or '
        f'saliency map of this format must be binary',
    )


@register_annotation_audit('binary_png')
def audit_binary_png(content: bytes, path: str, results: dict) -> Optional[BadAnnotationError]:
    """A binary png holds 0 / 255 or (when its maximum is 1) 0 / 1 only."""
    raw = _png(content, path)
    return _not_binary(path, raw, {0, 255} if raw.max(initial=0) > 1 else {0, 1})


@register_annotation_audit('binary_npy')
def audit_binary_npy(content: bytes, path: str, results: dict) -> Optional[BadAnnotationError]:
    """A binary ``.npy`` holds 0 / 1 only."""
    raw = _as_2d(_npy(content, path), path)
    if not np.isfinite(raw).all():
        return bad_file(path, 'not binary', 'an edge or saliency map must be finite 0 / 1')
    return _not_binary(path, raw, {0, 1})
