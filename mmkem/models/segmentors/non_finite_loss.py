"""The error a NaN or infinite loss raises before the optimizer step, and the check behind it."""

from typing import Dict

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.logging import MessageHub
from torch import Tensor

__all__ = ['NonFiniteLossError', 'all_finite', 'fp16_autocast_enabled']


def all_finite(values: Tensor) -> bool:
    """Whether every value is finite on every process (one all-reduce in a distributed run).

    Each process must reach the same decision: a process that raised alone would leave the others
    waiting in the next gradient all-reduce until a watchdog kills the job.
    """
    finite = torch.isfinite(values).all().to(torch.float32)
    if get_world_size() > 1:
        all_reduce(finite, op='min')
    return bool(finite)


def fp16_autocast_enabled(device_type: str) -> bool:
    """Whether float16 autocast is on for ``device_type`` (AMP with a gradient scaler)."""
    try:
        return torch.is_autocast_enabled(device_type) and (
            torch.get_autocast_dtype(device_type) == torch.float16
        )
    except (AttributeError, TypeError, RuntimeError):  # torch < 2.4: CUDA's flags only
        return device_type == 'cuda' and torch.is_autocast_enabled()


class NonFiniteLossError(FloatingPointError):
    """A task's loss became NaN or infinite; the message names the task and the iteration."""

    def __init__(self, terms: Dict[str, Tensor], note: str = '') -> None:
        bad = {k: float(v) for k, v in terms.items() if not bool(torch.isfinite(v))}
        good = {k: float(v) for k, v in terms.items() if k not in bad}
        tasks = sorted({k.split('.')[0] for k in bad})
        info = MessageHub.get_current_instance().get_info('iter')
        where = f' at iteration {info + 1}' if info is not None else ''
        if bad:
            head = f'non-finite loss{where} in task(s) {tasks}: ' + ', '.join(
                f'{k}={v}' for k, v in bad.items()
            )
        else:  # the bad loss is on another process: this one stops with it
            head = f'non-finite loss{where} on another process'
        super().__init__(
            head
            + note
            + (f' (finite: {", ".join(f"{k}={v:.4g}" for k, v in good.items())})' if good else '')
            + '. Training stopped before the optimizer step, so the weights are untouched. '
            'Usual causes: a learning rate or loss weight too high for this task, ground truth '
            'with no valid pixel or bad values, AMP overflow. Fix and resume from the last '
            'checkpoint with tools/train.py CONFIG --resume (docs/troubleshooting.md).'
        )
        self.tasks = tasks
