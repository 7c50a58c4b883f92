"""Pack an image and every task's ground truth into a ``SegDataSample`` (docs/internals.md, 4)."""

from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData
from mmseg.registry import TRANSFORMS
from mmseg.structures import SegDataSample

from mmkem.structures import spec_of_field

__all__ = ['PackMultiTaskInputs']


@TRANSFORMS.register_module()
class PackMultiTaskInputs(BaseTransform):
    """Pack ``inputs`` and a ``SegDataSample`` with one ``PixelData`` per task.

    The image becomes a (3, H, W) uint8 tensor (channel order unchanged). Each key of
    ``seg_fields`` that a task spec declares goes to the data sample under the same name:
    kinds with labels (segmentation) as long (1, H, W), the others as float (C, H, W): depth,
    edge and saliency (1, H, W), normals (3, H, W). Fields no task declares are left out.

    Required Keys:

    - img
    - seg_fields and the fields it names (optional: absent at test time without labels)

    Added Keys:

    - inputs (torch.Tensor): (3, H, W) uint8.
    - data_samples (SegDataSample): the gt fields and the meta keys present in ``results``.

    Args:
        meta_keys (Sequence[str]): Keys of ``results`` copied to the sample's metainfo where
            present. Defaults to ``('img_path', 'ori_shape', 'img_shape', 'pad_shape',
            'scale_factor', 'flip', 'flip_direction', 'tasks', 'sample_id')``.
    """

    def __init__(
        self,
        meta_keys: Sequence[str] = (
            'img_path',
            'ori_shape',
            'img_shape',
            'pad_shape',
            'scale_factor',
            'flip',
            'flip_direction',
            'tasks',
            'sample_id',
        ),
    ) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        """Return ``dict(inputs=..., data_samples=...)``."""
        img = results['img']
        if img.ndim == 2:
            img = img[..., None]
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))

        data_sample = SegDataSample()
        for key in results.get('seg_fields', []):
            spec = spec_of_field(key)
            if spec is None:
                continue
            field = np.ascontiguousarray(results[key])
            field = field[None] if field.ndim == 2 else field.transpose(2, 0, 1)
            dtype = torch.long if spec.task_kind.labels else torch.float32
            tensor = torch.from_numpy(np.ascontiguousarray(field)).to(dtype)
            setattr(data_sample, key, PixelData(data=tensor))
        data_sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        return dict(inputs=inputs, data_samples=data_sample)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
