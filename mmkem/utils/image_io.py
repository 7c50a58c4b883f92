"""Read an input image, whatever file it is stored in (png / jpg, or a ``.npy`` array)."""

import io
import os.path as osp
from typing import Optional

import mmcv
import mmengine.fileio as fileio
import numpy as np

__all__ = ['decode_npy_image', 'read_image']


def decode_npy_image(
    content: bytes, path: str, channel_order: str = 'bgr', stored_order: str = 'rgb'
) -> np.ndarray:
    """An (H, W, 3) uint8 image from the bytes of a ``.npy`` array.

    Float arrays whose maximum is at most 1 (MTAN / LibMTL store RGB in [0, 1]) are scaled by 255;
    the result is rounded to uint8 and put in ``channel_order``.

    Raises:
        ValueError: The array is not (H, W, 3) or has non-finite values; the message names
            ``path``.
    """
    img = np.load(io.BytesIO(content))
    if img.ndim != 3 or img.shape[-1] != 3:
        raise ValueError(f'{path}: expected an (H, W, 3) image array, got shape {img.shape}')
    if np.issubdtype(img.dtype, np.floating):
        if not np.isfinite(img).all():
            raise ValueError(f'{path}: the image has non-finite values')
        scale = 255.0 if img.max(initial=0.0) <= 1.0 else 1.0
        img = np.clip(np.rint(img * scale), 0, 255)
    img = img.astype(np.uint8)
    if channel_order != stored_order:
        img = img[..., ::-1]
    return np.ascontiguousarray(img)


def read_image(
    path: str, channel_order: str = 'rgb', backend_args: Optional[dict] = None
) -> np.ndarray:
    """(H, W, 3) uint8 image in ``channel_order`` from an image file or a ``.npy`` array (RGB).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: The file cannot be decoded as an image; the message names ``path``.
    """
    content = fileio.get(path, backend_args=backend_args)
    if osp.splitext(path)[1].lower() == '.npy':
        return decode_npy_image(content, path, channel_order=channel_order)
    img = mmcv.imfrombytes(content, flag='color', channel_order=channel_order)
    if img is None:
        raise ValueError(f'{path}: cannot decode this file as an image')
    return img
