"""Keep the model's random stream across a resume and out of the reach of validation."""

import warnings
from typing import Optional

import torch
from mmengine.dist import get_rank, get_world_size
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
      checkpoint is saved (by the first process: mmengine saves on it only),
    - restores it before the first iteration after a resume (only when the run continues at the
      checkpoint's own iteration, so ``load_from`` for fine-tuning leaves the RNG alone; at that
      point the replayed data loader has drawn its batch already, with the numpy state the
      uninterrupted run had),
    - saves torch's state before each validation and restores it afterwards, so that creating
      the validation loader (which draws a seed) does not shift the training stream: results do
      not depend on ``val_interval`` and a resume at a validation iteration stays exact.

    The states are restored from CPU copies: ``Runner.resume`` loads a checkpoint with
    ``map_location`` on the training device, so on a GPU they arrive as CUDA tensors, which
    ``torch.set_rng_state`` rejects. A distributed run restores process ``r``'s own state if the
    checkpoint holds ``per_rank`` states; mmkem's checkpoints hold the first process's only
    (gathering the others' would need a collective in a hook mmengine calls on the first process
    alone), so a distributed resume leaves the streams alone and says so: giving every process the
    first one's stream would make their dropout masks equal.

    With it, ``tools/train.py --resume`` after a kill gives bit-identical weights on the same
    machine (tested on CPU; on a GPU the kernels themselves are not bit-reproducible unless
    ``randomness.deterministic`` is set, docs/gpu.md). mmkem's schedules add it as
    ``default_hooks.rng_state``.
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
        # set_rng_state needs CPU ByteTensors; a checkpoint loaded with map_location='cuda' (or
        # any other device) holds device tensors
        torch.set_rng_state(_cpu_byte_tensor(state['torch']))
        if 'cuda' in state and torch.cuda.is_available():
            cuda_states = [_cpu_byte_tensor(s) for s in state['cuda']]
            torch.cuda.set_rng_state_all(cuda_states[: torch.cuda.device_count()])

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store torch's RNG state in ``checkpoint['rng_state']`` (mmengine calls this hook on the
        first process only, so it must not communicate)."""
        checkpoint['rng_state'] = self._get_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep this process's RNG state from the checkpoint until training continues."""
        state = checkpoint.get('rng_state')
        if state is not None:
            state = _state_of_this_rank(state)
        self._resumed_state = state
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


def _cpu_byte_tensor(state) -> torch.Tensor:
    """An RNG state as the CPU ``uint8`` tensor ``torch.set_rng_state`` takes, from any device."""
    return state.cpu().to(torch.uint8)


def _state_of_this_rank(state: dict) -> Optional[dict]:
    """The entry of a saved ``rng_state`` that this process restores, or None with a warning.

    A checkpoint with ``per_rank`` states (one per process) gives process ``r`` ``per_rank[r]``;
    one without restores on a single process only: giving every process the same stream would make
    their dropout masks equal.
    """
    rank, world_size = get_rank(), get_world_size()
    per_rank = state.get('per_rank')
    if per_rank is not None and len(per_rank) == world_size:
        return per_rank[rank]
    if per_rank is None and world_size == 1:
        return state
    saved = 1 if per_rank is None else len(per_rank)
    warnings.warn(
        f'RNGStateHook: the checkpoint holds the random state of {saved} process(es) and this '
        f'run has {world_size}; the random stream is not restored (the weights, optimizer and '
        'data order are), so the resumed run is not bit-identical to an uninterrupted one',
        stacklevel=2,
    )
    return None
