"""What can be wrong with a sample's files, named once for the loader, the dataset check and the
command lines.

A ground-truth file that cannot be used raises :class:`BadAnnotationError` (a ``ValueError``)
whose message starts with the file's path and says what was expected; its ``problem`` names the
kind of problem (one of :data:`PROBLEMS`) for the summary of ``tools/analysis/check_dataset.py``.
:func:`loading_problem` tells the errors of reading a sample (these, a missing file, mmcv's
``failed to load image``) from bugs, for the skip policy and the dataset check.
"""

from typing import Optional, Tuple

__all__ = ['PROBLEMS', 'BadAnnotationError', 'bad_file', 'loading_problem']

#: The kinds of problem a sample's files can have, as the dataset check counts them.
PROBLEMS = (
    'missing file',
    'unreadable file',
    'size mismatch',
    'wrong shape',
    'label out of range',
    'depth not finite or negative',
    'depth implausible',
    'normals not RGB',
    'normals not unit length',
    'normals all invalid',
    'not binary',
    'bad file',
)


class BadAnnotationError(ValueError):
    """A ground-truth file that cannot be used: ``'<path>: <what is wrong, what was expected>'``.

    Constructible from the message alone (as torch re-raises an error of a DataLoader worker).

    Args:
        message (str): The whole message, starting with the path.
        path (str, optional): The file. Defaults to None.
        problem (str): The kind of problem, one of :data:`PROBLEMS`. Defaults to 'bad file'.
    """

    def __init__(self, message: str, path: Optional[str] = None, problem: str = 'bad file'):
        super().__init__(message)
        self.path = path
        self.problem = problem


def bad_file(path: str, problem: str, detail: str) -> BadAnnotationError:
    """The error ``'<path>: <detail>'``, its ``problem`` one of :data:`PROBLEMS`."""
    if problem not in PROBLEMS:
        raise KeyError(f'problem {problem!r} is not one of {PROBLEMS}')
    return BadAnnotationError(f'{path}: {detail}', path, problem)


def _image_load_failure(err: BaseException) -> bool:
    """mmcv's ``LoadImageFromFile``: ``AssertionError('failed to load image: <path>')``."""
    return isinstance(err, AssertionError) and str(err).startswith('failed to load image')


def loading_problem(err: BaseException) -> Optional[Tuple[str, str]]:
    """``(problem, one-line message)`` when ``err`` is an error of reading a sample, else None.

    Reading errors are :class:`BadAnnotationError`, a missing or unreadable file (``OSError``:
    ``FileNotFoundError``, ``PermissionError``, ...) and mmcv's ``failed to load image``
    assertion (a truncated or corrupt image). Anything else is a bug, not bad data.
    """
    message = str(err).strip().split('\n')[0]
    if isinstance(err, BadAnnotationError):
        return err.problem, message
    if isinstance(err, FileNotFoundError):
        return 'missing file', message
    if isinstance(err, OSError):
        return 'unreadable file', message
    if _image_load_failure(err):
        return 'unreadable file', f'{message} (the image may be truncated or corrupt)'
    return None
