"""Read the array of a ``PixelData`` field, whatever form it arrives in."""

from typing import Any, Mapping, Optional

import numpy as np
import torch

__all__ = ['get_field', 'pixel_array']


def pixel_array(value: Any, where: str = 'value') -> np.ndarray:
    """The array of a ``PixelData``, of its ``to_dict()`` form, of a tensor or of an array.

    mmengine's evaluator hands metrics the ``to_dict()`` form of a ``SegDataSample`` (fields as
    ``{'data': tensor, ...}``); hooks and visualizers get the ``SegDataSample`` itself.

    Args:
        value: ``PixelData``, ``{'data': ...}``, ``torch.Tensor`` or array-like.
        where (str): What the value is, for the error message. Defaults to 'value'.

    Returns:
        np.ndarray: The data, on the CPU.

    Raises:
        KeyError: A mapping without a ``data`` key.
    """
    if isinstance(value, Mapping):
        if 'data' not in value:
            raise KeyError(
                f'{where}: expected a PixelData (or a dict with a "data" key), got keys '
                f'{sorted(value)}'
            )
        value = value['data']
    elif hasattr(value, 'data') and not isinstance(value, (torch.Tensor, np.ndarray)):
        value = value.data
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def get_field(data_sample: Any, name: str) -> Optional[Any]:
    """Field ``name`` of a ``SegDataSample`` or of its ``to_dict()`` form; None when absent."""
    if isinstance(data_sample, Mapping):
        return data_sample.get(name)
    return getattr(data_sample, name, None)
