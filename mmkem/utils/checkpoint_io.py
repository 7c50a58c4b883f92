"""Checkpoint files: read a state dict from any usual container, write one atomically.

Used by the converters in :mod:`mmkem.utils.converters` and by
:class:`mmkem.models.backbones.TimmFeatures`. Imports only ``torch`` (no mmcv / mmseg).
"""

import io
import os
from collections import OrderedDict
from typing import Dict

import torch

from .atomic_write import atomic_write_bytes

__all__ = ['StateDict', 'load_state_dict_file', 'save_checkpoint_atomic']

StateDict = Dict[str, torch.Tensor]


def load_state_dict_file(path: str, weights_only: bool = True) -> StateDict:
    """Read a checkpoint file and return its flat state dict.

    Unwraps the usual containers (``{'state_dict': ...}`` as mmengine writes, ``{'model': ...}`` as
    the official Swin release and many training scripts write) and strips a ``module.`` prefix left
    by DataParallel. ``.safetensors`` files are read with the ``safetensors`` package.

    Args:
        path (str): Local checkpoint file (``.pth``, ``.pt``, ``.bin`` or ``.safetensors``).
        weights_only (bool): Unpickle tensors and plain containers only (``torch.load``'s safe
            mode). Set False only for a file you trust that also pickles other objects (for
            example a config object). Defaults to True.

    Returns:
        dict[str, Tensor]: Parameter and buffer names mapped to tensors.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path!r}')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file

        ckpt = load_file(path, device='cpu')
    else:
        try:
            ckpt = torch.load(path, map_location='cpu', weights_only=weights_only)
        except Exception as err:  # torch raises UnpicklingError or RuntimeError here
            if not weights_only:
                raise
            raise ValueError(
                f'{path!r} could not be read with torch.load(weights_only=True): it pickles '
                f'objects other than tensors ({err.__class__.__name__}). If you trust the file, '
                'load it with weights_only=False (command line: --unsafe-load).'
            ) from err
    for key in ('state_dict', 'model'):
        if isinstance(ckpt, dict) and isinstance(ckpt.get(key), dict):
            ckpt = ckpt[key]
            break
    if not isinstance(ckpt, dict) or not all(isinstance(k, str) for k in ckpt):
        raise ValueError(
            f'{path!r} does not hold a state dict: expected a dict of tensors, optionally under '
            f"'state_dict' or 'model', got {type(ckpt).__name__}"
        )
    if ckpt and all(k.startswith('module.') for k in ckpt):
        ckpt = {k[len('module.') :]: v for k, v in ckpt.items()}
    return OrderedDict(ckpt)


def save_checkpoint_atomic(state_dict: StateDict, dst: str) -> None:
    """Write ``{'state_dict': state_dict}`` to ``dst`` without ever leaving a partial file.

    The checkpoint is written to a temporary file in the destination directory and moved into
    place with :func:`os.replace`, so an interrupted run leaves either the old file or the new one.

    Args:
        state_dict (dict[str, Tensor]): Weights to save.
        dst (str): Destination path; its directory is created if needed.
    """
    buffer = io.BytesIO()
    torch.save({'state_dict': state_dict}, buffer)
    atomic_write_bytes(buffer.getvalue(), dst)
