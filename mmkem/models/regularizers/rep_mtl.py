"""Rep-MTL: representation-level task-saliency regularisation (arXiv 2507.21049, ICCV 2025).

Rep-MTL regularises the *shared representation* Z instead of the optimiser. For every task t its
saliency S_t = dL_t/dZ (a tensor of Z's shape) is computed with ``create_graph=True``, so that the
two terms below are differentiable functions of the model's parameters (a second-order path):

- TSR (task-specific saliency regulation): Ŝ_t = mean of S_t over channels, (B, H, W); at each of
  the B*H*W positions P_t = |Ŝ_t| / Σ_k |Ŝ_k| (normalised across tasks, not over space);
  L_tsr = mean over positions of the entropy -Σ_t P_t log P_t.
- CSA (cross-task saliency alignment): M_t = S_t S_t^T per sample with S_t as (C, H*W), (B, C, C);
  the anchor of sample b is Â_b = A_b A_b^T with A_b the spatial means of S_1..S_T as columns,
  (C, T). Flattened and L2-normalised to z^t_b and z^a_b, InfoNCE per task:
  -log exp(z^a_b·z^t_b/τ) / (exp(z^a_b·z^t_b/τ) + Σ_{k≠b} exp(z^a_b·z^a_k/τ)), averaged over the
  samples and tasks.

Total: Σ_t L_t + λ_tsr L_tsr + λ_csa L_csa. The exact reading is in
``docs/rep_mtl.md`` and ``shared/design/ALGORITHMS.md``; the paper ships no code.
"""

from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import OptMultiConfig
from torch import Tensor

__all__ = ['FP16_SALIENCY_SCALE', 'RepMTLRegularizer', 'task_saliency', 'tsr_loss', 'csa_loss']

# The loss factor of the saliencies under float16 (GradScaler's initial scale): it lifts gradients
# of 1e-8 and below into float16's normal range.
FP16_SALIENCY_SCALE = 2.0**16


def task_saliency(
    task_losses: Dict[str, Tensor],
    shared: Tensor,
    create_graph: bool = True,
    loss_scale: Optional[float] = None,
) -> Tensor:
    """S_t = dL_t/dZ for every task, stacked, in at least float32.

    Under float16 autocast the backward runs in half precision, where the gradients of mean
    losses (1e-8 and below per element) flush to zero: TSR would see no saliency and give no
    gradient, without any error. As PyTorch's AMP gradient-penalty recipe does, the gradient is
    taken of ``loss * loss_scale`` and divided by ``loss_scale`` in float32.

    Args:
        task_losses (dict[str, Tensor]): ``{task: scalar loss}``, attached to the graph of
            ``shared``.
        shared (Tensor): Z, (B, C, H, W); must require grad.
        create_graph (bool): Keep the graph of the gradients, so that a loss built from them
            trains the model (second order). False gives detached saliencies. Defaults to True.
        loss_scale (float, optional): The factor above. None: ``2**16`` when Z is float16 (a task
            whose scaled gradient overflows is taken again unscaled), 1 otherwise.
            Defaults to None.

    Returns:
        Tensor: (T, B, C, H, W), float32 (float64 for a float64 Z), tasks in the order of
        ``task_losses``; a task whose loss does not depend on Z gets zeros.
    """
    if not shared.requires_grad:
        raise ValueError(
            'RepMTLRegularizer: the shared representation does not require grad, so dL_t/dZ is '
            'undefined; it must be computed from trainable modules (e.g. the feature adapter)'
        )
    auto_scale = loss_scale is None
    if auto_scale:
        loss_scale = FP16_SALIENCY_SCALE if shared.dtype == torch.float16 else 1.0
    out_dtype = torch.promote_types(shared.dtype, torch.float32)
    saliencies = []
    for task, loss in task_losses.items():
        if loss.dim() != 0:
            raise ValueError(f'task_losses[{task!r}] must be a scalar, got shape {loss.shape}')
        grad = _saliency(loss, shared, create_graph, loss_scale, out_dtype)
        if auto_scale and loss_scale != 1.0 and grad is not None:
            if not bool(torch.isfinite(grad).all()):  # float16 overflow of the scaled gradient
                grad = _saliency(loss, shared, create_graph, 1.0, out_dtype)
        saliencies.append(torch.zeros_like(shared, dtype=out_dtype) if grad is None else grad)
    return torch.stack(saliencies)


def _saliency(loss, shared, create_graph, loss_scale, out_dtype):
    """dL/dZ as ``d(loss * loss_scale)/dZ / loss_scale`` in ``out_dtype``, or None."""
    scaled = loss * loss_scale if loss_scale != 1.0 else loss
    (grad,) = torch.autograd.grad(
        scaled, shared, create_graph=create_graph, retain_graph=True, allow_unused=True
    )
    if grad is None:
        return None
    grad = grad.to(out_dtype)
    return grad / loss_scale if loss_scale != 1.0 else grad


def tsr_loss(saliency: Tensor, eps: float = 1e-12) -> Tensor:
    """Task-specific saliency regulation: mean entropy of the task distribution per position.

    Args:
        saliency (Tensor): S, (T, B, C, H, W).
        eps (float): Floor inside the log (P log P -> 0 at P = 0). Defaults to 1e-12.

    Returns:
        Tensor: L_tsr, scalar in [0, log T]. Positions where every task's saliency is 0 count
        with entropy 0.
    """
    strength = saliency.mean(dim=2).abs()  # |Ŝ_t|, (T, B, H, W)
    total = strength.sum(dim=0, keepdim=True)
    prob = strength / total.clamp_min(torch.finfo(strength.dtype).tiny)
    entropy = -(prob * prob.clamp_min(eps).log()).sum(dim=0)  # (B, H, W)
    return entropy.mean()


def csa_loss(saliency: Tensor, temperature: float = 0.1) -> Tensor:
    """Cross-task saliency alignment: InfoNCE between task affinities and the sample's anchor.

    Args:
        saliency (Tensor): S, (T, B, C, H, W).
        temperature (float): τ. Defaults to 0.1.

    Returns:
        Tensor: L_csa, scalar: mean over tasks and samples. With B = 1 there are no negatives and
        the loss is 0 (with a gradient).
    """
    num_tasks, batch, channels = saliency.shape[:3]
    flat = saliency.flatten(3)  # (T, B, C, H*W)
    task_affinity = flat @ flat.transpose(-1, -2)  # M_t, (T, B, C, C)
    anchor_cols = flat.mean(dim=-1).permute(1, 2, 0)  # A_b, (B, C, T)
    anchor = anchor_cols @ anchor_cols.transpose(-1, -2)  # Â_b, (B, C, C)
    z_task = F.normalize(task_affinity.flatten(2), dim=-1)  # (T, B, C*C)
    z_anchor = F.normalize(anchor.flatten(1), dim=-1)  # (B, C*C)

    negatives = z_anchor @ z_anchor.t() / temperature  # (B, B): sim(z^a_b, z^a_k)
    positives = (z_anchor.unsqueeze(0) * z_task).sum(-1) / temperature  # (T, B)
    eye = torch.eye(batch, dtype=torch.bool, device=saliency.device)
    # Row b of each task's logits: the positive on the diagonal, the other samples' anchors off it.
    logits = torch.where(eye, torch.diag_embed(positives), negatives.expand(num_tasks, -1, -1))
    target = torch.arange(batch, device=saliency.device).repeat(num_tasks)
    return F.cross_entropy(logits.reshape(num_tasks * batch, batch), target)


@MODELS.register_module()
class RepMTLRegularizer(BaseModule):
    """Rep-MTL's TSR and CSA terms on the task saliencies of the shared representation.

    A regulariser for :class:`~mmkem.models.segmentors.MultiTaskSegmentor` (its ``regularizer``
    key): called in training as ``regularizer(task_losses, shared)`` with the unweighted per-task
    losses and Z, it returns the weighted terms ``loss_tsr`` and ``loss_csa`` (summed into the
    total by mmengine) and the raw values ``tsr`` and ``csa`` (logged only).

    The saliencies are rescaled by one detached scalar (their largest absolute value) before the
    terms are computed: both terms are invariant to a common scale of all saliencies, and raw
    gradients of mean losses are small enough (1e-8 and below) for the normalisation floors to
    matter otherwise. Values and gradients are those of the unscaled formulas. Under float16
    autocast the saliencies are taken of scaled losses and kept in float32
    (:func:`task_saliency`), so they do not underflow.

    Args:
        lambda_tsr (float): λ_tsr. Defaults to 1.0 (paper: stable in [0.7, 1.5]).
        lambda_csa (float): λ_csa. Defaults to 1.0 (paper: stable in [0.7, 1.5]).
        temperature (float): InfoNCE temperature τ; the paper does not give it. Defaults to 0.1
            (a common InfoNCE value; our choice).
        second_order (bool): Compute S_t with ``create_graph=True`` so that both terms train the
            model (the paper's method). False detaches the saliencies: the terms are still
            computed and logged, but add no gradient (a cheaper monitor-only mode). Defaults to
            True.
        eps (float): Floor inside TSR's log. Defaults to 1e-12.
        init_cfg (dict or list[dict], optional): Initialisation config. Defaults to None.
    """

    def __init__(
        self,
        lambda_tsr: float = 1.0,
        lambda_csa: float = 1.0,
        temperature: float = 0.1,
        second_order: bool = True,
        eps: float = 1e-12,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if lambda_tsr < 0 or lambda_csa < 0:
            raise ValueError(
                f'lambda_tsr and lambda_csa must be >= 0, got {lambda_tsr} and {lambda_csa}'
            )
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        if eps <= 0:
            raise ValueError(f'eps must be > 0, got {eps}')
        self.lambda_tsr = float(lambda_tsr)
        self.lambda_csa = float(lambda_csa)
        self.temperature = float(temperature)
        self.second_order = bool(second_order)
        self.eps = float(eps)

    def forward(self, task_losses: Dict[str, Tensor], shared: Tensor) -> Dict[str, Tensor]:
        """Compute the weighted TSR and CSA terms.

        Args:
            task_losses (dict[str, Tensor]): ``{task: scalar}`` unweighted per-task losses, still
                attached to the graph of ``shared``; at least two tasks.
            shared (Tensor): Z, (B, C, H, W).

        Returns:
            dict[str, Tensor]: ``loss_tsr`` (λ_tsr L_tsr), ``loss_csa`` (λ_csa L_csa), and the
            detached raw values ``tsr`` and ``csa``.
        """
        if len(task_losses) < 2:
            raise ValueError(
                f'RepMTLRegularizer needs at least two tasks, got {sorted(task_losses)}'
            )
        if shared.dim() != 4:
            raise ValueError(f'shared must be (B, C, H, W), got shape {tuple(shared.shape)}')
        saliency = task_saliency(task_losses, shared, create_graph=self.second_order)
        scale = saliency.detach().abs().amax().clamp_min(torch.finfo(saliency.dtype).tiny)
        saliency = saliency / scale
        tsr = tsr_loss(saliency, eps=self.eps)
        csa = csa_loss(saliency, temperature=self.temperature)
        return dict(
            loss_tsr=self.lambda_tsr * tsr,
            loss_csa=self.lambda_csa * csa,
            tsr=tsr.detach(),
            csa=csa.detach(),
        )

    def extra_repr(self) -> str:
        return (
            f'lambda_tsr={self.lambda_tsr}, lambda_csa={self.lambda_csa}, '
            f'temperature={self.temperature}, second_order={self.second_order}'
        )
