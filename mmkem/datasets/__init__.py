from . import transforms
from .demo_nyud import make_demo_nyud
from .nyud import NYUD40_CLASSES, NYUDv2Dataset

__all__ = ['NYUD40_CLASSES', 'NYUDv2Dataset', 'make_demo_nyud', 'transforms']
