"""Task-interaction modules: ``num_tasks`` task maps ``(B, C, H, W)`` in, as many out.

They sit between the task encoders and the decoders of
:class:`~mmkem.models.segmentors.MultiTaskSegmentor` (and inside
:class:`~mmkem.models.reasoning.RelationalReasoner`); each builds a token-level core from
:mod:`mmkem.models.layers` and delegates to it through :class:`BaseTaskInteraction`."""

from .base import BaseTaskInteraction
from .cross_attention import TaskCrossAttention
from .kem import KEM
from .skem import SKEM

__all__ = ['BaseTaskInteraction', 'KEM', 'SKEM', 'TaskCrossAttention']
