"""Refuse a checkpoint that does not belong to the model, with a message that says why.

mmengine's ``Runner.load_checkpoint`` loads with ``strict=False``: a checkpoint of another model
(another neck, other tasks, other widths) only logs a long list of missing keys and then tests or
resumes a half-random model. ``tools/test.py`` and ``tools/train.py --resume`` call
:func:`check_checkpoint_matches` first, which reads the file once and raises
:class:`CheckpointMismatchError` listing what differs, grouped by module, before anything runs.
"""

import os.path as osp
from collections import Counter
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.runner.checkpoint import _load_checkpoint

__all__ = ['CheckpointMismatchError', 'check_checkpoint_matches', 'compare_state_dicts']

_SHOWN = 5


class CheckpointMismatchError(ValueError):
    """The checkpoint cannot be read, or its weights are not those of the model."""


def _groups(keys: List[str]) -> str:
    """``'neck.core (12), heads.normals (4)'``: the first two key parts with counts."""
    counts = Counter('.'.join(k.split('.')[:2]) for k in keys)
    return ', '.join(f'{name} ({n})' for name, n in counts.most_common(8)) + (
        ', ...' if len(counts) > 8 else ''
    )


def compare_state_dicts(
    model_state: Dict[str, torch.Tensor], ckpt_state: Dict[str, torch.Tensor]
) -> Dict[str, list]:
    """Keys missing from the checkpoint, unexpected in it, and with another shape.

    Returns:
        dict: ``missing`` and ``unexpected`` (sorted key lists) and ``shape`` (a list of
        ``(key, model shape, checkpoint shape)``).
    """
    missing = sorted(k for k in model_state if k not in ckpt_state)
    unexpected = sorted(k for k in ckpt_state if k not in model_state)
    shape = [
        (k, tuple(model_state[k].shape), tuple(ckpt_state[k].shape))
        for k in sorted(model_state)
        if k in ckpt_state
        and hasattr(ckpt_state[k], 'shape')
        and tuple(ckpt_state[k].shape) != tuple(model_state[k].shape)
    ]
    return dict(missing=missing, unexpected=unexpected, shape=shape)


def check_checkpoint_matches(model: nn.Module, filename: str, config: Optional[str] = None) -> None:
    """Raise :class:`CheckpointMismatchError` unless ``filename`` holds exactly ``model``'s weights.

    Args:
        model (nn.Module): The built model (a DDP or TTA wrapper is unwrapped).
        filename (str): Checkpoint path (a local file; other URIs are left to mmengine).
        config (str, optional): Config path, named in the message. Defaults to None.

    Raises:
        FileNotFoundError: ``filename`` does not exist.
        CheckpointMismatchError: The file cannot be read (truncated, not a checkpoint), or keys
            are missing, unexpected or of another shape.
    """
    if '://' in str(filename):
        return
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    try:
        ckpt = _load_checkpoint(filename, map_location='cpu')
    except Exception as err:
        raise CheckpointMismatchError(
            f'cannot read checkpoint {filename} ({type(err).__name__}: {err}); the file may be '
            f'truncated (a run killed while saving with a non-atomic writer) or not a PyTorch '
            f'checkpoint'
        ) from err
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise CheckpointMismatchError(
            f'checkpoint {filename} holds no state dict (got {type(ckpt).__name__})'
        )
    state = {k[len('module.') :] if k.startswith('module.') else k: v for k, v in state.items()}
    if is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    diff = compare_state_dicts(model.state_dict(), state)
    if not any(diff.values()):
        return
    lines = [
        f'checkpoint {filename} does not match the model'
        + (f' of {config}' if config else '')
        + ' (was it trained with another config?):'
    ]
    if diff['missing']:
        lines.append(
            f'  {len(diff["missing"])} model weights are missing from the checkpoint: '
            f'{_groups(diff["missing"])}; e.g. {diff["missing"][:_SHOWN]}'
        )
    if diff['unexpected']:
        lines.append(
            f'  {len(diff["unexpected"])} checkpoint weights are not in the model: '
            f'{_groups(diff["unexpected"])}; e.g. {diff["unexpected"][:_SHOWN]}'
        )
    if diff['shape']:
        shown = [f'{k}: model {m}, checkpoint {c}' for k, m, c in diff['shape'][:_SHOWN]]
        lines.append(f'  {len(diff["shape"])} weights differ in shape: {shown}')
    lines.append(
        '  Use the config the checkpoint was trained with; to start a new model from some of '
        'these weights, set load_from in the config (mmengine loads the matching part).'
    )
    raise CheckpointMismatchError('\n'.join(lines))
