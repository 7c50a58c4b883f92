"""Run training iterations on the math attention kernel, so second-order gradients pass attention.

``torch.nn.functional.scaled_dot_product_attention`` (used by timm's ViT blocks and by
``TokenCrossAttention``, the core of ``TaskCrossAttention``) picks a flash or memory-efficient
kernel when it can; those kernels have no double backward ("derivative for
aten::_scaled_dot_product_flash_attention_for_cpu_backward is not implemented"). Rep-MTL
differentiates dL_t/dZ, so every attention layer between Z and the losses (the task encoders,
interaction module and decoders of the KEM models) must run the explicit softmax(QK^T)V kernel
while training. Same values; more memory and time.
"""

from typing import Optional

from mmengine.hooks import Hook
from mmseg.registry import HOOKS
from torch.nn.attention import SDPBackend, sdpa_kernel

__all__ = ['MathSDPAHook']


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
