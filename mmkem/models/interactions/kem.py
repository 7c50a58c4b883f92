"""KEM: the knowledge-extraction memory as a task-interaction module (paper eqs. 1-3)."""

from mmseg.registry import MODELS
from mmseg.utils import OptMultiConfig

from ..layers import KEMCore
from .base import BaseTaskInteraction

__all__ = ['KEM']


@MODELS.register_module()
class KEM(BaseTaskInteraction):
    """Knowledge Extraction Module: task maps -> memory of ``L`` slots -> task maps (eqs. 1-3).

    The tokens of all tasks (task-major) are read by ``L`` learnable memory slots with a top-k
    softmax (Retrieve), the memory is written back to every token with a softmax over the slots
    (Write), and the result is added to the input (Broadcast). Cost linear in the number of tokens;
    no ``n_s x n_s`` tensor is built. The computation is :class:`~mmkem.models.layers.KEMCore`
    (``self.core``); see it for every choice the paper leaves open (pre-LayerNorm on ``F`` and
    ``R^``, ``d_e = C``, heads, top-k readings).

    Args:
        in_channels (int): Channels ``C`` of every task map (``d`` in the paper).
        num_tasks (int): Number of task maps ``n``.
        num_slots (int): Memory slots ``L``. Defaults to 20.
        topk (int): Tokens kept per slot, ``k``. Defaults to 3.
        num_heads (int): Attention heads; must divide ``in_channels``. Defaults to 1.
        topk_mode (str): ``'mask_logits'`` (-inf before the softmax) or ``'mask_probs'`` (zero after
            it, no renormalisation). Defaults to ``'mask_logits'``.
        residual_weight (float): ``w_r`` of eq. 3. Defaults to 1.0.
        qkv_bias (bool): Bias in the six projections. Defaults to True.
        impl (str): ``'fast'`` (folded, no ``n_s d^2`` term) or ``'plain'`` (eqs. as written).
            Same outputs and gradients. Defaults to ``'fast'``.
        init_cfg (dict or list[dict], optional): Initialisation config. Defaults to None.
        **core_kwargs: Further :class:`~mmkem.models.layers.KEMCore` arguments; :class:`SKEM`
            passes its ETF arguments (``etf_mode``, ``num_vertices``, ``etf_seed``,
            ``feature_scale``) this way.

    Shapes:
        - ``feats``: list of ``num_tasks`` tensors ``(B, C, H, W)``, one per task.
        - output: list of ``num_tasks`` tensors of the same shapes, same order. With
          ``return_attention=True`` a tuple ``(outs, attn)`` with ``attn['retrieve']``
          ``(B, num_heads, L, n_s)`` and ``attn['write']`` ``(B, num_heads, n_s, L)``,
          ``n_s = num_tasks * H * W``, tokens task-major.
    """

    def __init__(
        self,
        in_channels: int,
        num_tasks: int,
        num_slots: int = 20,
        topk: int = 3,
        num_heads: int = 1,
        topk_mode: str = 'mask_logits',
        residual_weight: float = 1.0,
        qkv_bias: bool = True,
        impl: str = 'fast',
        init_cfg: OptMultiConfig = None,
        **core_kwargs,
    ) -> None:
        super().__init__(in_channels, num_tasks, init_cfg=init_cfg)
        self.core = KEMCore(
            embed_dims=in_channels,
            num_slots=num_slots,
            topk=topk,
            num_heads=num_heads,
            topk_mode=topk_mode,
            residual_weight=residual_weight,
            qkv_bias=qkv_bias,
            impl=impl,
            **core_kwargs,
        )
