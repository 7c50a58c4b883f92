"""The error a NaN or infinite loss raises before the optimizer step."""

from typing import Dict

import torch
from mmengine.logging import MessageHub
from torch import Tensor

__all__ = ['NonFiniteLossError']


class NonFiniteLossError(FloatingPointError):
    """A task's loss became NaN or infinite; the message names the task and the iteration."""

    def __init__(self, terms: Dict[str, Tensor]) -> None:
        bad = {k: float(v) for k, v in terms.items() if not bool(torch.isfinite(v))}
        good = {k: float(v) for k, v in terms.items() if k not in bad}
        tasks = sorted({k.split('.')[0] for k in bad})
        info = MessageHub.get_current_instance().get_info('iter')
        where = f' at iteration {info + 1}' if info is not None else ''
        super().__init__(
            f'non-finite loss{where} in task(s) {tasks}: '
            + ', '.join(f'{k}={v}' for k, v in bad.items())
            + (f' (finite: {", ".join(f"{k}={v:.4g}" for k, v in good.items())})' if good else '')
            + '. Training stopped before the optimizer step, so the weights are untouched. '
            'Usual causes: a learning rate or loss weight too high for this task, ground truth '
            'with no valid pixel or bad values, AMP overflow. Fix and resume from the last '
            'checkpoint with tools/train.py CONFIG --resume (docs/troubleshooting.md).'
        )
        self.tasks = tasks
