"""A synthetic multi-task batch, packed as the data pipeline packs it, for the cost tools."""

from typing import Sequence

import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmkem.structures import get_task_spec

__all__ = ['synthetic_batch']


def synthetic_batch(model, batch_size: int, size: Sequence[int], seed: int = 0) -> dict:
    """A fixed batch with every task's ground truth, as ``PackMultiTaskInputs`` packs it.

    Images are random uint8 ``(3, H, W)``; each task's ground truth is its kind's ``synthetic``
    map (segmentation labels uniform over the head's classes, depth uniform in ``[0.5, 5]`` m,
    normals random unit vectors, binary tasks random 0/1) in its ``gt_field`` (docs/internals.md).

    Args:
        model: A :class:`~mmkem.models.MultiTaskSegmentor` (``tasks`` and ``heads`` are read).
        batch_size (int): Number of samples.
        size (Sequence[int]): ``(H, W)``.
        seed (int): Seed of the batch's own generator. Defaults to 0.

    Returns:
        dict: ``inputs`` (list of tensors) and ``data_samples`` (list of ``SegDataSample``), ready
        for ``model.train_step`` / ``model.data_preprocessor``.
    """
    gen = torch.Generator().manual_seed(seed)
    height, width = size
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(torch.randint(0, 256, (3, height, width), generator=gen, dtype=torch.uint8))
        sample = SegDataSample(
            metainfo=dict(
                img_shape=(height, width), ori_shape=(height, width), tasks=list(model.tasks)
            )
        )
        fields = {}
        for task in model.tasks:
            spec = get_task_spec(task)
            kind = spec.task_kind
            channels = (
                kind.channels if kind.channels is not None else model.heads[task].out_channels
            )
            gt = kind.synthetic(gen, channels, height, width)
            fields[spec.gt_field] = PixelData(data=gt)
        sample.set_data(fields)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)
