"""Write a file so that a reader sees the old content or the complete new one, never a part."""

import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

__all__ = ['atomic_write_bytes']


def atomic_write_bytes(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` through a temporary file and an atomic rename.

    The temporary file lives in the target's directory (same file system), is flushed to disk and
    moved over the target with :func:`os.replace`, atomic on POSIX and Windows. A process killed at
    any moment leaves either the previous file or the new one (and at worst a stray hidden
    ``.<name>.*.tmp`` file). The parent directory is created; the file gets the usual permissions
    (``0o666`` minus the umask) rather than ``mkstemp``'s ``0o600``.

    Args:
        data (bytes): The content.
        filepath (str | Path): Destination path.
    """
    filepath = str(filepath)
    directory = osp.dirname(osp.abspath(filepath))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(filepath)}.', suffix='.tmp', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
