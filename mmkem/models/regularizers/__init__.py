from .rep_mtl import RepMTLRegularizer, csa_loss, task_saliency, tsr_loss
from .sdpa_math import MathSDPAHook

__all__ = ['MathSDPAHook', 'RepMTLRegularizer', 'csa_loss', 'task_saliency', 'tsr_loss']
