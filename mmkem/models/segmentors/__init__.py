# mmkem/models/__init__.py does not import models.utils; importing it here registers FeatureAdapter
# and ViTBlocks, which segmentor configs use.
from .. import utils  # noqa: F401
from .multi_task_segmentor import MultiTaskSegmentor, NonFiniteLossError

__all__ = ['MultiTaskSegmentor', 'NonFiniteLossError']
