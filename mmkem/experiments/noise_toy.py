"""The paper's Fig. 1 toy: how much attention do tasks put on a task that is pure noise?

Three "tasks" of ``m`` tokens each (hidden states of width ``d``) go through 2 layers of
attention over their concatenation (task-major, ``n_s = 3 m`` tokens):

- tasks 1 and 2 share a latent ``z = (z_a, z_b)`` (``r`` + ``r`` standard normal numbers per
  sample). Task 1's tokens carry only ``z_a``, task 2's only ``z_b``:
  ``x_j = mean_scale * mu_t + signal_scale * P_t z_t + noise_scale * eps_j`` with a fixed task mean
  ``mu_t`` (``d`` standard normals), a fixed projection ``P_t`` (``d x r``, entries
  ``N(0, 1/r)``) and token noise ``eps_j ~ N(0, I)``. Both tasks predict all of ``z`` at every
  one of their tokens, so each needs the other task's tokens (without sharing, the best mean
  squared error is 0.5: half of ``z`` unknown).
- task 3 is pure standard Gaussian noise, ``N(0, I)``, independent of everything else. With the
  default scales (0.6, 0.7, 0.4) tasks 1 and 2 have the same per-entry second moment as the
  noise (0.36 + 0.49 + 0.16 ~ 1), so the noise tokens cannot be told apart by their size.

Two models, differing only in the attention (paper Fig. 1 and Fig. 2):

- ``'cross_attention'``: 2 layers of single-head :class:`~mmkem.models.layers.TokenCrossAttention`
  (eq. 4; the core of the ``TaskCrossAttention`` interaction module).
- ``'kem'``: 2 layers of single-head :class:`~mmkem.models.layers.KEMCore` (eqs. 1-3, ``L``
  slots, top-``k`` retrieve; the core of ``KEM``).

Both run on the three token segments directly.

followed by a per-task MLP head on every token of tasks 1 and 2 (task 3 has no target).

Measured quantity, the *noise share*: the attention mass that the tokens of tasks 1 and 2 put on
the tokens of task 3, averaged over those query tokens, the batch and the heads.

- Cross-attention: the ``(n_s, n_s)`` map ``A`` (rows sum to 1); the share of query row ``i`` is
  ``sum_{j in task 3} A[i, j]``.
- KEM: there is no token-to-token map; information flows token -> slot (retrieve ``P``,
  ``(L, n_s)``, rows sum to 1 with ``topk_mode='mask_logits'``) -> token (write ``W``,
  ``(n_s, L)``, rows sum to 1). The *effective* token-to-token attention is ``W @ P``
  (``(n_s, n_s)``, rows sum to 1), and its share is read as above. Also reported: the retrieve
  share, ``sum_{j in task 3} P[l, j]`` averaged over the ``L`` slots (what the memory holds of
  the noise).

Chance level: the share of task-3 tokens among all tokens (1/3 with equal ``m``).
"""

import math
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmkem.analysis.tables import mean_std
from mmkem.models.layers import KEMCore, TokenCrossAttention

__all__ = [
    'NoiseToyConfig',
    'NoiseToyData',
    'NoiseToyModel',
    'segment_mass',
    'noise_share',
    'effective_attention',
    'measure',
    'train_model',
    'run_noise_toy',
]

MODEL_TYPES = ('cross_attention', 'kem')


@dataclass
class NoiseToyConfig:
    """Settings of the toy; the defaults are what ``tools/experiments/noise_toy.py`` runs.

    Args:
        tokens_per_task (int): ``m``, tokens of each of the 3 tasks. Defaults to 16.
        dims (int): ``d``, token width. Defaults to 32.
        latent_dims (int): ``r``, latent numbers carried by task 1 and by task 2. Defaults to 4.
        mean_scale (float): Weight of the task mean ``mu_t``. Defaults to 0.6.
        signal_scale (float): Weight of ``P_t z_t``. Defaults to 0.7.
        noise_scale (float): Weight of the per-token noise of tasks 1 and 2. Defaults to 0.4.
        num_layers (int): Attention layers. Defaults to 2.
        num_slots (int): KEM's ``L``. Defaults to 20 (the paper's).
        topk (int): KEM's ``k``. Defaults to 3 (the paper's).
        steps (int): Training steps. Defaults to 400.
        batch_size (int): Samples per step. Defaults to 64.
        lr (float): Adam learning rate. Defaults to 3e-3.
        eval_size (int): Samples of the fixed evaluation batch. Defaults to 256.
        seeds (list[int]): One run per seed and model (data, weights, batches). Defaults to
            [0, 1, 2].
        curve_steps (list[int]): Steps after which the shares are also measured (the training
            curve); steps beyond ``steps`` are skipped. Defaults to [10, 25, 50, 100, 200].
    """

    tokens_per_task: int = 16
    dims: int = 32
    latent_dims: int = 4
    mean_scale: float = 0.6
    signal_scale: float = 0.7
    noise_scale: float = 0.4
    num_layers: int = 2
    num_slots: int = 20
    topk: int = 3
    steps: int = 400
    batch_size: int = 64
    lr: float = 3e-3
    eval_size: int = 256
    seeds: List[int] = field(default_factory=lambda: [0, 1, 2])
    curve_steps: List[int] = field(default_factory=lambda: [10, 25, 50, 100, 200])

    def __post_init__(self):
        for name in ('tokens_per_task', 'dims', 'latent_dims', 'num_layers', 'num_slots', 'topk'):
            if getattr(self, name) < 1:
                raise ValueError(f'{name} must be >= 1, got {getattr(self, name)}')
        if self.steps < 0:
            raise ValueError(f'steps must be >= 0, got {self.steps}')
        if self.batch_size < 1 or self.eval_size < 1:
            raise ValueError(
                f'batch_size and eval_size must be >= 1, got {self.batch_size}, {self.eval_size}'
            )
        if not self.seeds:
            raise ValueError('seeds must name at least one seed')


class NoiseToyData:
    """Sampler of the toy's three token sets and the targets of tasks 1 and 2.

    The task means and projections are drawn once from ``seed``; every :meth:`sample` draws new
    latents, token noise and task-3 noise from the generator it is given.

    Args:
        cfg (NoiseToyConfig): Sizes and scales.
        seed (int): Seed of the fixed task means and projections. Defaults to 0.
    """

    num_tasks = 3
    noise_task = 2  # index of task 3

    def __init__(self, cfg: NoiseToyConfig, seed: int = 0) -> None:
        self.cfg = cfg
        gen = torch.Generator().manual_seed(seed)
        d, r = cfg.dims, cfg.latent_dims
        self.means = torch.randn(2, d, generator=gen)  # mu_1, mu_2
        self.projections = torch.randn(2, d, r, generator=gen) / math.sqrt(r)  # P_1, P_2

    @property
    def lengths(self) -> List[int]:
        """Tokens per task, in the concatenation order."""
        return [self.cfg.tokens_per_task] * self.num_tasks

    def sample(self, batch: int, generator: torch.Generator) -> Tuple[List[Tensor], Tensor]:
        """Draw a batch.

        Args:
            batch (int): Number of samples ``B``.
            generator (torch.Generator): Source of all randomness of the batch.

        Returns:
            tuple: ``tokens``, three tensors ``(B, m, d)`` (tasks 1, 2, 3), and ``target`` ``z``
            ``(B, 2 r)``, the target of every token of tasks 1 and 2.
        """
        cfg = self.cfg
        m, d, r = cfg.tokens_per_task, cfg.dims, cfg.latent_dims
        latent = torch.randn(batch, 2, r, generator=generator)  # z_a, z_b
        tokens = []
        for t in range(2):
            signal = torch.einsum('dr,br->bd', self.projections[t], latent[:, t])
            eps = torch.randn(batch, m, d, generator=generator)
            tokens.append(
                cfg.mean_scale * self.means[t]
                + cfg.signal_scale * signal.unsqueeze(1)
                + cfg.noise_scale * eps
            )
        tokens.append(torch.randn(batch, m, d, generator=generator))  # task 3: pure noise
        return tokens, latent.flatten(1)


class NoiseToyModel(nn.Module):
    """``num_layers`` attention layers over the three tasks' tokens, then per-task MLP heads.

    Args:
        model_type (str): ``'cross_attention'`` (:class:`TokenCrossAttention`, one head) or
            ``'kem'`` (:class:`KEMCore`, one head, ``num_slots`` slots, top-``topk`` retrieve).
        cfg (NoiseToyConfig): Sizes.

    Shapes:
        - input: three token tensors ``(B, m, d)``.
        - output: ``preds``, two tensors ``(B, m, 2 r)`` (tasks 1 and 2), and a list with one
          dict of attention maps per layer (see :meth:`forward`).
    """

    def __init__(self, model_type: str, cfg: NoiseToyConfig) -> None:
        super().__init__()
        if model_type not in MODEL_TYPES:
            raise ValueError(f'model_type must be one of {MODEL_TYPES}, got {model_type!r}')
        self.model_type = model_type
        d, out = cfg.dims, 2 * cfg.latent_dims
        if model_type == 'cross_attention':
            layers = [TokenCrossAttention(d) for _ in range(cfg.num_layers)]
        else:
            layers = [
                KEMCore(d, num_slots=cfg.num_slots, topk=cfg.topk) for _ in range(cfg.num_layers)
            ]
        self.layers = nn.ModuleList(layers)
        self.heads = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(d), nn.Linear(d, d), nn.GELU(), nn.Linear(d, out))
            for _ in range(2)
        )

    def forward(self, tokens: Sequence[Tensor]) -> Tuple[List[Tensor], List[Dict[str, Tensor]]]:
        """Run the layers, returning the predictions and every layer's attention.

        Args:
            tokens (Sequence[Tensor]): Three tensors ``(B, m, d)``.

        Returns:
            tuple: ``preds`` (two ``(B, m, 2 r)`` tensors) and, per layer, the attention dict of
            the layer: ``{'attention': (B, 1, n_s, n_s)}`` for cross-attention,
            ``{'retrieve': (B, 1, L, n_s), 'write': (B, 1, n_s, L)}`` for KEM.
        """
        attns = []
        for layer in self.layers:
            tokens, attn = layer(tokens, return_attention=True)
            attns.append(attn)
        preds = [head(tok) for head, tok in zip(self.heads, tokens[:2])]
        return preds, attns


def segment_mass(attn: Tensor, lengths: Sequence[int], segment: int) -> Tensor:
    """Mass each row of an attention map puts on the columns of one token segment.

    Args:
        attn (Tensor): ``(..., n_q, n_s)``, rows are distributions over the ``n_s`` tokens.
        lengths (Sequence[int]): Lengths of the task segments of the ``n_s`` columns, in order.
        segment (int): Index of the segment whose columns are summed.

    Returns:
        Tensor: ``(..., n_q)``, the row sums over that segment's columns.
    """
    if sum(lengths) != attn.shape[-1]:
        raise ValueError(f'lengths {list(lengths)} do not add up to n_s={attn.shape[-1]}')
    if not 0 <= segment < len(lengths):
        raise ValueError(f'segment must be in [0, {len(lengths)}), got {segment}')
    start = sum(lengths[:segment])
    return attn[..., start : start + lengths[segment]].sum(-1)


def noise_share(
    attn: Tensor,
    lengths: Sequence[int],
    noise_segment: int = -1,
    query_segments: Optional[Sequence[int]] = None,
) -> float:
    """Mean mass that the chosen query rows put on the noise segment's columns.

    Args:
        attn (Tensor): ``(..., n_q, n_s)`` attention map.
        lengths (Sequence[int]): Segment lengths of the columns.
        noise_segment (int): Index of the noise segment (negative counts from the end).
            Defaults to -1.
        query_segments (Sequence[int], optional): Rows to average over, as segments of the same
            ``lengths`` (a token-to-token map: ``n_q = n_s``). None averages over all rows (e.g.
            the ``L`` slots of a retrieve map). Defaults to None.

    Returns:
        float: The mean over the leading dims and the selected rows.
    """
    noise_segment = noise_segment % len(lengths)
    mass = segment_mass(attn, lengths, noise_segment)  # (..., n_q)
    if query_segments is None:
        return float(mass.mean())
    if attn.shape[-2] != sum(lengths):
        raise ValueError(
            f'query_segments needs a token-to-token map (n_q = n_s = {sum(lengths)}), '
            f'got n_q={attn.shape[-2]}'
        )
    starts = [sum(lengths[:i]) for i in range(len(lengths))]
    rows = torch.cat([torch.arange(starts[s], starts[s] + lengths[s]) for s in query_segments])
    return float(mass[..., rows].mean())


def effective_attention(attn: Dict[str, Tensor]) -> Tensor:
    """Token-to-token attention of a layer: the map itself, or ``write @ retrieve`` for KEM.

    Args:
        attn (dict): ``{'attention': (B, H, n_s, n_s)}`` or
            ``{'retrieve': (B, H, L, n_s), 'write': (B, H, n_s, L)}``.

    Returns:
        Tensor: ``(B, H, n_s, n_s)``.
    """
    if 'attention' in attn:
        return attn['attention']
    return attn['write'] @ attn['retrieve']


@torch.no_grad()
def measure(
    model: NoiseToyModel, tokens: Sequence[Tensor], target: Tensor, lengths: Sequence[int]
) -> Dict[str, object]:
    """Noise shares per layer and the prediction error, on one batch.

    Args:
        model (NoiseToyModel): The model (put in eval mode here).
        tokens (Sequence[Tensor]): Three ``(B, m, d)`` tensors.
        target (Tensor): ``(B, 2 r)``.
        lengths (Sequence[int]): Tokens per task.

    Returns:
        dict: ``noise_share`` (list, per layer: effective map, rows of tasks 1 and 2),
        ``other_task_share`` (per layer: task 1 rows on task 2 and task 2 rows on task 1,
        averaged), ``retrieve_noise_share`` (KEM only, per layer, averaged over slots) and
        ``mse`` (mean squared error of tasks 1 and 2).
    """
    model.eval()
    preds, attns = model(tokens)
    out = dict(noise_share=[], other_task_share=[])
    if model.model_type == 'kem':
        out['retrieve_noise_share'] = []
    for attn in attns:
        eff = effective_attention(attn)
        out['noise_share'].append(noise_share(eff, lengths, 2, query_segments=(0, 1)))
        other = 0.5 * (
            float(segment_mass(eff, lengths, 1)[..., : lengths[0]].mean())
            + float(segment_mass(eff, lengths, 0)[..., lengths[0] : lengths[0] + lengths[1]].mean())
        )
        out['other_task_share'].append(other)
        if 'retrieve' in attn:
            out['retrieve_noise_share'].append(noise_share(attn['retrieve'], lengths, 2))
    out['mse'] = float(sum(F.mse_loss(p, target.unsqueeze(1).expand_as(p)) for p in preds) / 2)
    return out


def train_model(
    model: NoiseToyModel,
    data: NoiseToyData,
    cfg: NoiseToyConfig,
    seed: int,
    after_step: Optional[Callable[[int], None]] = None,
) -> list:
    """Train on fresh batches with Adam and the mean squared error of tasks 1 and 2.

    Args:
        model (NoiseToyModel): Trained in place.
        data (NoiseToyData): The sampler.
        cfg (NoiseToyConfig): ``steps``, ``batch_size``, ``lr``.
        seed (int): Seed of the training batches.
        after_step (callable, optional): Called with the number of steps done after each step
            (the model is put back in train mode after it). Defaults to None.

    Returns:
        list[float]: The training loss of every step.
    """
    gen = torch.Generator().manual_seed(10_000 + seed)
    optim = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    model.train()
    losses = []
    for step in range(1, cfg.steps + 1):
        tokens, target = data.sample(cfg.batch_size, gen)
        preds, _ = model(tokens)
        loss = sum(F.mse_loss(p, target.unsqueeze(1).expand_as(p)) for p in preds) / 2
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        losses.append(float(loss.detach()))
        if after_step is not None:
            after_step(step)
            model.train()
    return losses


def _mean_std(values: Sequence[float]) -> Dict[str, float]:
    """Mean and sample std over seeds; std 0 for one seed (the JSON holds numbers, never NaN)."""
    mean, std = mean_std(values, one_value_std=0.0)
    return dict(mean=mean, std=std)


def run_noise_toy(cfg: Optional[NoiseToyConfig] = None, log=None) -> Dict[str, object]:
    """Train both models for every seed and measure them before and after training.

    Args:
        cfg (NoiseToyConfig, optional): Settings; None uses the defaults. Defaults to None.
        log (callable, optional): Called with a line of progress text. Defaults to None.

    Returns:
        dict: ``config``, ``chance`` (task-3 share of the tokens), ``runs`` (every seed's raw
        measurements) and ``summary``: per model, per quantity (``noise_share``,
        ``other_task_share``, ``retrieve_noise_share`` for KEM, ``mse``), per stage (``init``,
        ``trained``) the mean and std over seeds, per layer for the shares; and ``curve``, the
        noise share per layer at step 0, the ``curve_steps`` and the last step.
    """
    cfg = cfg or NoiseToyConfig()
    runs = []
    for seed in cfg.seeds:
        data = NoiseToyData(cfg, seed=seed)
        tokens, target = data.sample(cfg.eval_size, torch.Generator().manual_seed(20_000 + seed))
        for model_type in MODEL_TYPES:
            torch.manual_seed(seed)
            model = NoiseToyModel(model_type, cfg)
            init = measure(model, tokens, target, data.lengths)
            curve = []

            def after_step(step, model=model, curve=curve, batch=(tokens, target, data.lengths)):
                if step in cfg.curve_steps and step < cfg.steps:
                    curve.append(dict(step=step, **measure(model, *batch)))

            losses = train_model(model, data, cfg, seed, after_step)
            trained = measure(model, tokens, target, data.lengths)
            curve = [dict(step=0, **init)] + curve
            if cfg.steps:
                curve.append(dict(step=cfg.steps, **trained))
            final_loss = losses[-1] if losses else None
            runs.append(
                dict(
                    model=model_type,
                    seed=seed,
                    init=init,
                    trained=trained,
                    curve=curve,
                    final_loss=final_loss,
                )
            )
            if log is not None:
                log(
                    f'seed {seed} {model_type:<15} noise share per layer '
                    f'init {[round(v, 3) for v in init["noise_share"]]} -> trained '
                    f'{[round(v, 3) for v in trained["noise_share"]]}, '
                    f'mse {init["mse"]:.3f} -> {trained["mse"]:.3f}'
                )
    summary = {}
    for model_type in MODEL_TYPES:
        model_runs = [r for r in runs if r['model'] == model_type]
        keys = [k for k in model_runs[0]['init'] if k != 'mse']
        entry = {}
        for key in keys:
            entry[key] = {
                stage: [
                    _mean_std([r[stage][key][layer] for r in model_runs])
                    for layer in range(cfg.num_layers)
                ]
                for stage in ('init', 'trained')
            }
        entry['mse'] = {
            stage: _mean_std([r[stage]['mse'] for r in model_runs]) for stage in ('init', 'trained')
        }
        entry['curve'] = [
            dict(
                step=point['step'],
                noise_share=[
                    _mean_std([r['curve'][i]['noise_share'][layer] for r in model_runs])
                    for layer in range(cfg.num_layers)
                ],
            )
            for i, point in enumerate(model_runs[0]['curve'])
        ]
        summary[model_type] = entry
    return dict(config=asdict(cfg), chance=1.0 / NoiseToyData.num_tasks, runs=runs, summary=summary)
