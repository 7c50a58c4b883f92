"""The paper's cross-attention baseline ("KEM w/ CA", eq. 4) as a task-interaction module."""

from mmseg.registry import MODELS
from mmseg.utils import OptMultiConfig

from ..layers import TokenCrossAttention
from .base import BaseTaskInteraction

__all__ = ['TaskCrossAttention']


@MODELS.register_module()
class TaskCrossAttention(BaseTaskInteraction):
    """Cross-attention over the concatenated tokens of all tasks (paper eq. 4, Fig. 2).

    ``F' = softmax((LN(F) W_q)(LN(F) W_k)^T / sqrt(d_h)) (LN(F) W_v)``, ``F <- F + w_r F'``, split
    back into the task maps. ``F`` is the task-major concatenation of all tokens (``n_s`` of them),
    so every token attends to every token of every task: cost ``O(2 n_s^2 d + 3 n_s d^2)``. The
    computation is :class:`~mmkem.models.layers.TokenCrossAttention` (``self.core``), with the same
    choices as :class:`~mmkem.models.layers.KEMCore` so that the two differ only in the memory.

    Checkpoints written before the core was split out hold ``norm.*`` and ``qkv.*`` where this
    module now has ``core.norm.*`` and ``core.qkv.*``; they load unchanged (the keys are renamed
    on loading).

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

    LEGACY_PREFIXES = ('norm.', 'qkv.')

    def __init__(
        self,
        in_channels: int,
        num_tasks: int,
        num_heads: int = 1,
        residual_weight: float = 1.0,
        qkv_bias: bool = True,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(in_channels, num_tasks, init_cfg=init_cfg)
        self.core = TokenCrossAttention(
            in_channels, num_heads=num_heads, residual_weight=residual_weight, qkv_bias=qkv_bias
        )

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        """Rename the pre-split keys ``norm.*`` / ``qkv.*`` to ``core.norm.*`` / ``core.qkv.*``."""
        for key in list(state_dict):
            rest = key[len(prefix) :]
            if key.startswith(prefix) and rest.startswith(self.LEGACY_PREFIXES):
                new_key = f'{prefix}core.{rest}'
                if new_key not in state_dict:
                    state_dict[new_key] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
