from .rep_mtl import RepMTLRegularizer, csa_loss, task_saliency, tsr_loss

__all__ = ['RepMTLRegularizer', 'csa_loss', 'task_saliency', 'tsr_loss']
