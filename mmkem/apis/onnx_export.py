"""ONNX export of a multi-task model and its check against PyTorch with onnxruntime.

The exported graph takes one image batch as the data preprocessor receives it, as float32
pixel values ``(B, 3, H, W)`` in the loading order (BGR for mmkem's configs, which set
``bgr_to_rgb=True``), at the exported size (a multiple of the preprocessor's ``size_divisor``),
and does the rest: channel order, normalisation, the model, and the resize of every task's output
to the input size. Its outputs, one per task and named after it, are the raw outputs (class
logits, depth in metres, unnormalised normals, edge / saliency logits) that
:meth:`MultiTaskSegmentor.postprocess_result` activates; :func:`activate_outputs` does it for the
exported model's results.

KEM's fast form (the default ``impl``) is exported as it is: tracing records the forward of its
autograd Function (:class:`~mmkem.models.layers.NormedMatmul`) operation by operation, so no
switch to ``impl='plain'`` is needed (``tests/test_apis/test_onnx_export.py`` checks both the
traced graph and the exported model). ``onnx``, ``onnxscript`` and
``onnxruntime`` are tool dependencies (``requirements/tests.txt``), imported here only.
"""

from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmkem.structures import get_task_spec

__all__ = [
    'MultiTaskOnnxWrapper',
    'activate_outputs',
    'check_onnx',
    'export_onnx',
    'image_batch',
]


class MultiTaskOnnxWrapper(nn.Module):
    """A multi-task segmentor as one traceable function of a pixel batch.

    Args:
        model (nn.Module): A :class:`~mmkem.models.segmentors.MultiTaskSegmentor` in eval mode.
        tasks (Sequence[str], optional): Outputs, in order. Defaults to None (the model's tasks).
    """

    def __init__(self, model: nn.Module, tasks: Optional[Sequence[str]] = None) -> None:
        super().__init__()
        self.model = model
        self.tasks = list(tasks) if tasks is not None else list(model.tasks)
        pre = model.data_preprocessor
        self.channel_conversion = bool(getattr(pre, 'channel_conversion', False))
        self.normalize = bool(getattr(pre, '_enable_normalize', False))

    def forward(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """Raw outputs per task at the input size.

        Args:
            inputs (Tensor): (B, 3, H, W) float32 pixel values, in the loading channel order.

        Returns:
            tuple[Tensor, ...]: ``(B, C_t, H, W)`` per task of ``self.tasks``.
        """
        x = inputs.float()
        if self.channel_conversion:
            x = x[:, [2, 1, 0]]
        if self.normalize:
            pre = self.model.data_preprocessor
            x = (x - pre.mean) / pre.std
        outputs = self.model._forward(x)
        return tuple(
            F.interpolate(
                outputs[task],
                size=inputs.shape[2:],
                mode='bilinear',
                align_corners=getattr(self.model.heads[task], 'align_corners', False),
            )
            for task in self.tasks
        )


def image_batch(
    image: np.ndarray,
    shape: Optional[Tuple[int, int]] = None,
    size_divisor: Optional[int] = None,
) -> Tensor:
    """An (H, W, 3) uint8 image as a (1, 3, h, w) float32 batch, resized (bilinear) to ``shape``.

    Args:
        image (np.ndarray): The image, in the loading channel order.
        shape (tuple[int, int], optional): ``(h, w)``. Defaults to None: the image's size rounded
            up to a multiple of ``size_divisor``.
        size_divisor (int, optional): See ``shape``. Defaults to None.
    """
    height, width = image.shape[:2]
    if shape is None:
        div = size_divisor if size_divisor and size_divisor > 1 else 1
        shape = (-(-height // div) * div, -(-width // div) * div)
    if tuple(shape) != (height, width):
        image = cv2.resize(image, (int(shape[1]), int(shape[0])), interpolation=cv2.INTER_LINEAR)
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float()[None]


def export_onnx(
    wrapper: MultiTaskOnnxWrapper, example: Tensor, out_file: str, opset: int = 18
) -> str:
    """Export ``wrapper`` for inputs shaped like ``example`` to ``out_file`` (a static shape).

    Uses torch's ``torch.export``-based ONNX exporter (``dynamo=True``); the weights are stored
    inside the file.

    Returns:
        str: ``out_file``.
    """
    wrapper.eval()
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            (example,),
            out_file,
            dynamo=True,
            input_names=['inputs'],
            output_names=list(wrapper.tasks),
            opset_version=opset,
            external_data=False,
        )
    return out_file


def check_onnx(
    onnx_file: str,
    wrapper: MultiTaskOnnxWrapper,
    inputs: Tensor,
    rtol: float = 1e-4,
    atol: float = 1e-4,
) -> Dict[str, Dict[str, float]]:
    """Run the exported model with onnxruntime and compare every output with PyTorch's.

    An output passes when ``max |onnx - torch| <= atol + rtol * max |torch|``.

    Args:
        onnx_file (str): The exported model.
        wrapper (MultiTaskOnnxWrapper): The PyTorch model it was exported from.
        inputs (Tensor): A batch of the exported shape (a real image).
        rtol (float): Relative tolerance (of the output's largest magnitude). Defaults to 1e-4.
        atol (float): Absolute tolerance. Defaults to 1e-4.

    Returns:
        dict: Per task ``max_abs_diff``, ``max_abs`` (of PyTorch's output) and ``tolerance``.

    Raises:
        AssertionError: An output differs by more than its tolerance (the message names it).
    """
    import onnxruntime

    session = onnxruntime.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
    got = session.run(None, {session.get_inputs()[0].name: inputs.numpy()})
    wrapper.eval()
    with torch.no_grad():
        expected = [t.numpy() for t in wrapper(inputs)]
    report, failed = {}, []
    for task, onnx_out, torch_out in zip(wrapper.tasks, got, expected):
        if onnx_out.shape != torch_out.shape:
            raise AssertionError(
                f'{task}: ONNX output shape {onnx_out.shape} != PyTorch {torch_out.shape}'
            )
        diff = float(np.abs(onnx_out - torch_out).max())
        scale = float(np.abs(torch_out).max())
        tolerance = atol + rtol * scale
        report[task] = dict(max_abs_diff=diff, max_abs=scale, tolerance=tolerance)
        if not diff <= tolerance:
            failed.append(f'{task}: max |onnx - torch| = {diff:.3g} > {tolerance:.3g}')
    if failed:
        raise AssertionError('the ONNX model does not match PyTorch: ' + '; '.join(failed))
    return report


def activate_outputs(tasks: Sequence[str], outputs: Sequence[np.ndarray]) -> List[np.ndarray]:
    """The predictions of the exported model's raw outputs (per task, its kind's activation).

    Args:
        tasks (Sequence[str]): The output names.
        outputs (Sequence[np.ndarray]): ``(B, C_t, H, W)`` arrays.

    Returns:
        list[np.ndarray]: ``(B, c_t, H, W)`` predictions (class ids, metres, unit normals,
        probabilities).
    """
    preds = []
    for task, out in zip(tasks, outputs):
        activate = get_task_spec(task).task_kind.activate
        preds.append(np.stack([activate(torch.from_numpy(o)).numpy() for o in out]))
    return preds
