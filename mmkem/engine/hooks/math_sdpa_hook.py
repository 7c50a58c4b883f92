"""Run training iterations on the math attention kernel, so second-order gradients pass attention.

``torch.nn.functional.scaled_dot_product_attention`` (used by timm's ViT blocks and by
``TokenCrossAttention``, the core of ``TaskCrossAttention``) picks a flash or memory-efficient
kernel when it can; those kernels have no double backward ("derivative for
aten::_scaled_dot_product_flash_attention_for_cpu_backward is not implemented"). Rep-MTL
differentiates dL_t/dZ, so every attention layer between Z and the losses (the task encoders,
interaction module and decoders of the KEM models) must run the explicit softmax(QK^T)V kernel
while training. Same values; more memory and time.
"""

import contextlib
from typing import ContextManager, Optional

from mmengine.hooks import Hook
from mmseg.registry import HOOKS
from torch.nn.attention import SDPBackend, sdpa_kernel

__all__ = ['MathSDPAHook', 'train_iter_attention']


@HOOKS.register_module()
class MathSDPAHook(Hook):
    """Restrict ``scaled_dot_product_attention`` to the math kernel during each training iteration.

    Needed by Rep-MTL (``RepMTLRegularizer`` with ``second_order=True``) on models with attention
    after Z; add ``custom_hooks = [dict(type='MathSDPAHook')]``. Validation and testing keep the
    fast kernels.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._context: Optional[object] = None

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._context = sdpa_kernel([SDPBackend.MATH])
        self._context.__enter__()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)
            self._context = None


def train_iter_attention(cfg) -> ContextManager:
    """The attention kernels ``cfg``'s training iterations run on, for code that trains its model
    without a runner (the cost tools): ``sdpa_kernel([MATH])`` when ``cfg.custom_hooks`` has a
    :class:`MathSDPAHook`, else no restriction.

    Args:
        cfg (Config | dict): A config.

    Returns:
        ContextManager: Enter it around each training step.
    """
    for hook in cfg.get('custom_hooks') or ():
        kind = hook.get('type') if isinstance(hook, dict) else type(hook)
        if kind == 'MathSDPAHook' or (isinstance(kind, type) and issubclass(kind, MathSDPAHook)):
            return sdpa_kernel([SDPBackend.MATH])
    return contextlib.nullcontext()
