"""Task maps and token sequences: the two views of a feature map the interaction layers use.

A map ``(B, C, H, W)`` is read as ``H*W`` tokens of ``C`` channels. :func:`split_tokens` gives the
channel-first view ``feat.flatten(2).mT`` (no copy), which the fast KEM form consumes and produces
in place; :func:`merge_tokens` turns token tensors back into maps.
"""

from typing import List, Sequence

import torch
from torch import Tensor

__all__ = ['check_tokens', 'split_tokens', 'merge_tokens', 'is_channel_first', 'gather_tokens']


def split_tokens(feats: Sequence[Tensor]) -> List[Tensor]:
    """Task maps ``(B, C, H, W)`` to channel-first token views ``(B, H*W, C)`` (no copy)."""
    return [feat.flatten(2).mT for feat in feats]


def merge_tokens(tokens: Sequence[Tensor], feats: Sequence[Tensor]) -> List[Tensor]:
    """Token tensors ``(B, H*W, C)`` back to the shapes of ``feats`` (a view when channel-first)."""
    return [tok.mT.reshape(feat.shape) for tok, feat in zip(tokens, feats)]


def is_channel_first(x: Tensor) -> bool:
    """Whether a ``(B, N, C)`` tensor is a transposed view of a contiguous ``(B, C, N)`` one."""
    return x.mT.is_contiguous() and not x.is_contiguous()


def gather_tokens(tokens: Sequence[Tensor], index: Tensor) -> Tensor:
    """Rows of the concatenated ``tokens`` at ``index`` without concatenating them.

    Args:
        tokens (Sequence[Tensor]): Token segments ``(B, N_i, C)``, any layout.
        index (Tensor): ``(B, J)`` positions in the concatenation ``tokens[0] ⊕ tokens[1] ⊕ ...``.

    Returns:
        Tensor: ``(B, J, C)``, the selected rows.
    """
    out = None
    start = 0
    for tok in tokens:
        length = tok.shape[1]
        local = (index - start).clamp(0, length - 1)
        rows = torch.gather(tok, 1, local.unsqueeze(-1).expand(-1, -1, tok.shape[2]))
        inside = ((index >= start) & (index < start + length)).unsqueeze(-1)
        out = rows if out is None else torch.where(inside, rows, out)
        start += length
    return out


def check_tokens(tokens: Sequence[Tensor], embed_dims: int) -> None:
    """Check that ``tokens`` is a non-empty list of (B, N_i, C = ``embed_dims``) segments.

    Raises:
        ValueError: naming the first segment that is not.
    """
    if not isinstance(tokens, (list, tuple)) or len(tokens) == 0:
        raise ValueError('tokens must be a non-empty list of (B, N_i, C) tensors')
    batch = tokens[0].shape[0]
    for i, tok in enumerate(tokens):
        if tok.dim() != 3 or tok.shape[0] != batch or tok.shape[2] != embed_dims:
            raise ValueError(
                f'tokens[{i}] must have shape (B={batch}, N_i, C={embed_dims}), '
                f'got {tuple(tok.shape)}'
            )
