"""The table of task kinds and tasks mmkem ships (``kinds.py``).

Importing this package registers the five built-in kinds (segmentation, depth, normals,
saliency, edge) and the six built-in tasks (semseg, human_parts, depth, normals, sal, edge) in
:mod:`mmkem.structures.tasks`; ``import mmkem`` does it last, after every room whose functions
the table names.
"""

from .kinds import BUILTIN_KINDS, BUILTIN_TASKS

__all__ = ['BUILTIN_KINDS', 'BUILTIN_TASKS']
