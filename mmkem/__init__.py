"""mmkem: multi-task dense prediction with KEM / sKEM and Rep-MTL, as an mmsegmentation 1.x plugin.

``import mmkem`` registers every mmkem module into mmsegmentation's registries (MODELS, DATASETS,
TRANSFORMS, METRICS, VISUALIZERS), so a config needs only::

    custom_imports = dict(imports=['mmkem'], allow_failed_imports=False)
    default_scope = 'mmseg'
"""

# The rooms first, then the table of task kinds and tasks that names their functions
# (mmkem/tasks/kinds.py); the rooms only look the table up at run time.
from . import (
    apis,
    datasets,
    engine,
    evaluation,
    models,
    structures,
    tasks,  # noqa: I001
    visualization,
)
from .version import __version__

__all__ = [
    '__version__',
    'apis',
    'datasets',
    'engine',
    'evaluation',
    'models',
    'structures',
    'tasks',
    'visualization',
]
