"""A local file backend whose writes are atomic, for checkpoints that survive a kill.

mmengine's ``LocalBackend.put`` opens the target with ``'wb'`` and writes into it, so a run killed
while saving (SIGKILL, out of memory, a pre-empted job) leaves a truncated ``iter_N.pth`` and, when
it dies between the two writes, a ``last_checkpoint`` pointing at it: ``--resume`` then fails on a
broken file. :class:`AtomicLocalBackend` writes to a temporary file in the same directory, flushes
it to disk and renames it over the target (``os.replace`` is atomic on POSIX and Windows), so a
reader sees either the old file or the complete new one, never a part.

mmkem's schedules select it for the checkpoint hook::

    default_hooks = dict(
        checkpoint=dict(type='CheckpointHook', backend_args=dict(backend='atomic_local')))

Reads, listing and removal are those of ``LocalBackend``.
"""

from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

from mmkem.utils.atomic_write import atomic_write_bytes

__all__ = ['AtomicLocalBackend']


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` whose ``put`` and ``put_text`` replace the target atomically."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically (temporary file + ``os.replace``)."""
        atomic_write_bytes(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically (temporary file + ``os.replace``)."""
        atomic_write_bytes(obj.encode(encoding), filepath)
