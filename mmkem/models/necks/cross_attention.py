"""The paper's cross-attention baseline ("KEM w/ CA", eq. 4): attention over all task tokens."""

from typing import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor, nn

from .kem import _TaskNeckMixin

__all__ = ['TaskCrossAttention']


@MODELS.register_module()
class TaskCrossAttention(_TaskNeckMixin, BaseModule):
    """Cross-attention over the concatenated tokens of all tasks (paper eq. 4, Fig. 2).

    ``F' = softmax((LN(F) W_q)(LN(F) W_k)^T / sqrt(d_h)) (LN(F) W_v)``, ``F <- F + w_r F'``, split
    back into the task maps. ``F`` is the task-major concatenation of all tokens (``n_s`` of them),
    so every token attends to every token of every task: cost ``O(2 n_s^2 d + 3 n_s d^2)``.

    The same choices as :class:`~mmkem.models.necks.KEMCore`, so that the two differ only in the
    memory: pre-LayerNorm on ``F``, ``d_e = C`` (one fused ``C -> 3C`` projection), heads of width
    ``d_h = C / num_heads``, no output projection (eq. 4 has none), residual weight ``w_r``.
    The attention runs on ``torch.nn.functional.scaled_dot_product_attention`` (the fastest exact
    kernel available); with ``return_attention=True`` it is computed explicitly instead, to return
    the ``(n_s, n_s)`` maps.

    Args:
        in_channels (int): Channels ``C`` of every task map.
        num_tasks (int): Number of task maps ``n``.
        num_heads (int): Attention heads; must divide ``in_channels``. Defaults to 1.
        residual_weight (float): Weight of the residual update. Defaults to 1.0.
        qkv_bias (bool): Bias in the query/key/value projection. Defaults to True.
        init_cfg (dict or list[dict], optional): Initialisation config. Defaults to None.

    Shapes:
        - ``feats``: list of ``num_tasks`` tensors ``(B, C, H, W)``, one per task.
        - output: list of ``num_tasks`` tensors of the same shapes, same order. With
          ``return_attention=True`` a tuple ``(outs, attn)`` with ``attn['attention']``
          ``(B, num_heads, n_s, n_s)``, ``n_s = num_tasks * H * W``, tokens task-major.
    """

    def __init__(
        self,
        in_channels: int,
        num_tasks: int,
        num_heads: int = 1,
        residual_weight: float = 1.0,
        qkv_bias: bool = True,
        init_cfg=None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_tasks < 1:
            raise ValueError(f'num_tasks must be >= 1, got {num_tasks}')
        if num_heads < 1 or in_channels % num_heads != 0:
            raise ValueError(
                f'num_heads must be >= 1 and divide in_channels={in_channels}, got {num_heads}'
            )
        self.in_channels = in_channels
        self.num_tasks = num_tasks
        self.num_heads = num_heads
        self.head_dims = in_channels // num_heads
        self.residual_weight = residual_weight
        self.norm = nn.LayerNorm(in_channels)
        self.qkv = nn.Linear(in_channels, 3 * in_channels, bias=qkv_bias)

    def forward(self, feats: Sequence[Tensor], return_attention: bool = False):
        """Let every token of every task attend to all tokens.

        Args:
            feats (Sequence[Tensor]): ``num_tasks`` maps ``(B, C, H, W)`` of equal shape.
            return_attention (bool): Also return the attention maps. Defaults to False.

        Returns:
            list[Tensor] or tuple[list[Tensor], dict]: The updated maps, same shapes and order;
            with ``return_attention`` also ``{'attention': (B, num_heads, n_s, n_s)}``.
        """
        self._check_feats(feats)
        batch, channels, height, width = feats[0].shape
        x = torch.cat([feat.flatten(2) for feat in feats], dim=2).transpose(1, 2)  # (B, n_s, C)
        qkv = self.qkv(self.norm(x)).unflatten(-1, (3, self.num_heads, self.head_dims))
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, H, n_s, dh)
        if return_attention:
            attention = (q @ k.mT * self.head_dims**-0.5).softmax(-1)
            update = attention @ v
        else:
            update = F.scaled_dot_product_attention(q, k, v)
        out = x + self.residual_weight * update.transpose(1, 2).flatten(-2)
        outs = [
            tok.transpose(1, 2).reshape(batch, channels, height, width)
            for tok in out.split(height * width, dim=1)
        ]
        return (outs, dict(attention=attention)) if return_attention else outs
