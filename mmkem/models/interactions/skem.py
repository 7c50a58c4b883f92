"""sKEM: KEM with the fixed simplex ETF on its retrieve logits (paper eqs. 6-7)."""

from typing import Optional

from mmseg.registry import MODELS

from ..layers import ETF_MODES
from .kem import KEM

__all__ = ['SKEM']


@MODELS.register_module()
class SKEM(KEM):
    """Stable KEM: KEM whose retrieve logits go through the fixed ETF of eq. 6 (eq. 7).

    ``W* = K/(K-1) U (I_K - 1 1^T / K)`` is a seeded, non-trainable buffer (saved in checkpoints as
    ``core.etf``). The core is :class:`~mmkem.models.layers.KEMCore` with ``etf_mode`` set. Eq. 7's
    shapes do not meet as printed; two readings (ALGORITHMS.md, "sKEM"):

    - ``'task_axis'`` (default): at each spatial position the ``n`` task logits ``a`` of a slot
      become ``W* a`` with the ``n x n`` ETF (``K = num_tasks``); rows of ``W*`` sum to zero, so the
      part common to all tasks is removed before the top-k. Needs ``num_tasks >= 2``.
    - ``'feature'``: ``W*`` is ``d_h x K``; logits are ``s`` times the cosine between
      ``R W_qr W*`` and ``LN(F) W_kr W*``. ``K`` (``num_vertices``) defaults to ``num_tasks`` and
      must satisfy ``2 <= K <= d_h`` (``K = 2`` degenerates; a warning says so).

    Args:
        in_channels (int): Channels ``C`` of every task map.
        num_tasks (int): Number of task maps ``n``.
        etf_mode (str): ``'task_axis'`` or ``'feature'``. Defaults to ``'task_axis'``.
        num_vertices (int, optional): ETF vertices ``K``; ``'task_axis'`` requires ``num_tasks``.
            Defaults to None (= ``num_tasks``).
        etf_seed (int): Seed of the ETF's orthonormal basis. Defaults to 0.
        feature_scale (float, optional): Fixed logit scale of ``'feature'``; None = learnable,
            initialised to ``sqrt(d_h)``. Defaults to None.
        **kwargs: The other arguments of :class:`KEM` (``num_slots``, ``topk``, ``num_heads``,
            ``topk_mode``, ``residual_weight``, ``qkv_bias``, ``impl``, ``init_cfg``).

    Shapes: as :class:`KEM`.
    """

    def __init__(
        self,
        in_channels: int,
        num_tasks: int,
        etf_mode: str = 'task_axis',
        num_vertices: Optional[int] = None,
        etf_seed: int = 0,
        feature_scale: Optional[float] = None,
        **kwargs,
    ) -> None:
        if etf_mode not in ETF_MODES:
            raise ValueError(f'etf_mode must be one of {ETF_MODES}, got {etf_mode!r}')
        num_vertices = num_tasks if num_vertices is None else num_vertices
        if etf_mode == 'task_axis' and num_vertices != num_tasks:
            raise ValueError(
                f"etf_mode='task_axis' mixes the logits of the tasks, so num_vertices must equal "
                f'num_tasks={num_tasks}, got {num_vertices}'
            )
        super().__init__(
            in_channels,
            num_tasks,
            etf_mode=etf_mode,
            num_vertices=num_vertices,
            etf_seed=etf_seed,
            feature_scale=feature_scale,
            **kwargs,
        )
