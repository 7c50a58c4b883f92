"""What the inferencer reads: a config given by file or by name, and the images of a folder."""

import copy
import os
import os.path as osp
from glob import escape as glob_escape
from glob import glob
from typing import List, Sequence

from mmengine.config import Config, ConfigDict

__all__ = ['IMAGE_EXTENSIONS', 'list_images', 'resolve_config']

#: File extensions read as images from a folder.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.npy')


def resolve_config(model, config_dirs: Sequence[str] = ('configs',)) -> Config:
    """The config of ``model``: a Config or dict, a config file, or a config name.

    Args:
        model (str | Config | dict): A config, the path of a config file, or the name of one
            (``kem_effnet-lite0_nyud-demo``, with or without ``.py``) searched for under
            ``config_dirs``.
        config_dirs (Sequence[str]): Folders searched (recursively) for a config name, relative to
            the working directory unless absolute. Defaults to ``('configs',)``.

    Raises:
        FileNotFoundError: No file of that name.
        ValueError: The name matches several configs.
    """
    if isinstance(model, (Config, ConfigDict)):
        return copy.deepcopy(model) if isinstance(model, Config) else Config(dict(model))
    if isinstance(model, dict):
        return Config(copy.deepcopy(model))
    if not isinstance(model, str):
        raise TypeError(f'model must be a config, a config file or a config name, got {model!r}')
    if osp.isfile(model):
        return Config.fromfile(model)
    name = osp.basename(model)
    name = name if name.endswith('.py') else name + '.py'
    found = sorted(
        {
            path
            for folder in config_dirs
            for path in glob(osp.join(glob_escape(folder), '**', name), recursive=True)
        }
    )
    if not found:
        raise FileNotFoundError(
            f'config {model!r} is neither a file nor the name of a config under '
            f'{[osp.abspath(d) for d in config_dirs]}'
        )
    if len(found) > 1:
        raise ValueError(f'config name {model!r} matches several configs: {found}; give the path')
    return Config.fromfile(found[0])


def list_images(folder: str) -> List[str]:
    """The image files of ``folder`` (not recursive), sorted by name."""
    files = sorted(
        osp.join(folder, name)
        for name in os.listdir(folder)
        if osp.splitext(name)[1].lower() in IMAGE_EXTENSIONS and osp.isfile(osp.join(folder, name))
    )
    if not files:
        raise ValueError(f'folder {folder} holds no image ({", ".join(IMAGE_EXTENSIONS)})')
    return files
