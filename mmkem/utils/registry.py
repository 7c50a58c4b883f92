"""Look at a component config's class before building it."""

import inspect
from typing import Optional, Sequence

from mmengine.registry import Registry

__all__ = ['registered_class', 'takes_argument']


def registered_class(registries: Sequence[Registry], cfg: dict) -> Optional[type]:
    """The class ``cfg['type']`` names in the first of ``registries`` that has it, or None."""
    cls = cfg.get('type')
    if isinstance(cls, str):
        for registry in registries:
            found = registry.get(cls)
            if found is not None:
                return found
        return None
    return cls if inspect.isclass(cls) else None


def takes_argument(registries: Sequence[Registry], cfg: dict, name: str) -> bool:
    """Whether the class of ``cfg`` has an ``__init__`` argument called ``name``."""
    cls = registered_class(registries, cfg)
    if cls is None:
        return False
    try:
        return name in inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return False
