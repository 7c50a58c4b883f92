"""Keep the model's random stream across a resume and out of the reach of validation."""

from typing import Optional

import torch
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

__all__ = ['RNGStateHook']

DATA_BATCH = Optional[dict]


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save torch's RNG state in checkpoints, restore it on resume, and shield it from validation.

    A resumed run should continue as if it had never stopped. mmengine restores the weights, the
    optimizer, the schedulers and the message hub, re-seeds, and replays the data loader up to the
    checkpoint's iteration, so the data (and its augmentation, drawn from numpy in the loader) is
    the same. What it does not restore is the random stream the model itself draws from, torch's
    generator (dropout, stochastic depth, random sampling in a head): after a resume it restarts
    from the seed instead of continuing, and the run diverges. This hook

    - adds ``checkpoint['rng_state']`` (torch's CPU state and, with CUDA, every device's) when a
      checkpoint is saved,
    - restores it before the first iteration after a resume (only when the run continues at the
      checkpoint's own iteration, so ``load_from`` for fine-tuning leaves the RNG alone; at that
      point the replayed data loader has drawn its batch already, with the numpy state the
      uninterrupted run had),
    - saves torch's state before each validation and restores it afterwards, so that creating
      the validation loader (which draws a seed) does not shift the training stream: results do
      not depend on ``val_interval`` and a resume at a validation iteration stays exact.

    With it, ``tools/train.py --resume`` after a kill gives bit-identical weights on the same
    machine (tested on CPU). mmkem's schedules add it as ``default_hooks.rng_state``.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._resumed_state = None
        self._resumed_iter = None
        self._val_state = None

    @staticmethod
    def _get_state() -> dict:
        state = dict(torch=torch.get_rng_state())
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state['cuda'] = torch.cuda.get_rng_state_all()
        return state

    @staticmethod
    def _set_state(state: dict) -> None:
        torch.set_rng_state(state['torch'])
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store torch's RNG state in ``checkpoint['rng_state']``."""
        checkpoint['rng_state'] = self._get_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the checkpoint's RNG state until training continues."""
        self._resumed_state = checkpoint.get('rng_state')
        self._resumed_iter = checkpoint.get('meta', {}).get('iter')

    def before_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        """On the first iteration after a resume, continue the saved random stream."""
        if self._resumed_state is not None:
            if self._resumed_iter and runner.iter == self._resumed_iter:
                self._set_state(self._resumed_state)
            self._resumed_state = None

    def before_val(self, runner) -> None:
        """Put the training stream aside while validating."""
        self._val_state = self._get_state()

    def after_val(self, runner) -> None:
        """Continue the training stream where validation found it."""
        if self._val_state is not None:
            self._set_state(self._val_state)
            self._val_state = None
