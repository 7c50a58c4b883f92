"""Multi-task loss weighting, kept apart from the architecture.

A weighting object receives the per-task losses of one batch, ``{task: {loss_name: tensor}}``
(what each task head's ``loss_by_feat`` returns), and returns the flat, weighted loss dict the
segmentor hands to mmengine::

    {'semseg.loss_ce': w_semseg * L_ce, 'depth.loss_depth_l1': w_depth * L_l1,
     'semseg.weight': w_semseg, 'depth.weight': w_depth, ...}

Every term of a task is multiplied by that task's weight ``w_i``, so for single-term tasks the
total is ``sum_i w_i L_i`` (paper eq. 5). The current weights are returned under keys without
``loss`` (``'<task>.weight'``, detached), which mmengine logs but does not add to the total.
The weights of the adaptive schemes are computed from ``L_i``, the sum of task ``i``'s terms.
"""

from abc import ABCMeta, abstractmethod
from typing import Dict, Mapping, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine import dist
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import OptMultiConfig, add_prefix
from torch import Tensor

from mmkem.structures import check_task_list, compare_task_lists

TaskLosses = Mapping[str, Mapping[str, Tensor]]


class BaseLossWeighting(BaseModule, metaclass=ABCMeta):
    """Base class: checks the tasks, scales each task's terms and adds logging keys.

    Subclasses implement :meth:`get_weights`.

    Args:
        tasks (Sequence[str]): Task names, in the order used for the weights.
        init_cfg (dict or list[dict], optional): Initialisation config. Defaults to None.
    """

    def __init__(self, tasks: Sequence[str], init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        # Any names: a weighting only sees per-task losses, not what the tasks are.
        self.tasks = check_task_list(tasks, known=False)

    def forward(self, task_losses: TaskLosses) -> Dict[str, Tensor]:
        """Weight the per-task losses.

        Args:
            task_losses (Mapping[str, Mapping[str, Tensor]]): For each task in :attr:`tasks`, its
                loss terms ``{'loss_<name>': scalar tensor}``.

        Returns:
            dict[str, Tensor]: ``'<task>.loss_<name>'``: weighted term; ``'<task>.weight'``: the
            task's weight (detached, for logging); plus any extra terms of the scheme.
        """
        missing, unexpected = compare_task_lists(self.tasks, list(task_losses))
        if missing or unexpected:
            raise ValueError(
                f'{type(self).__name__} was built for tasks {self.tasks} but got losses for '
                f'{list(task_losses)} (missing: {missing}, unexpected: {unexpected})'
            )
        totals = {task: sum(task_losses[task].values()) for task in self.tasks}
        weights, extras = self.get_weights(totals)
        outputs = {}
        for task in self.tasks:
            weighted = {name: weights[task] * loss for name, loss in task_losses[task].items()}
            outputs.update(add_prefix(weighted, task))
            outputs[f'{task}.weight'] = weights[task].detach()
        outputs.update(extras)
        return outputs

    @abstractmethod
    def get_weights(self, totals: Dict[str, Tensor]) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """Return ``({task: weight}, extra_outputs)`` for the per-task total losses ``totals``."""


@MODELS.register_module()
class FixedLossWeighting(BaseLossWeighting):
    """Constant weights: ``L = sum_i alpha_i L_i`` (paper eq. 5).

    Args:
        tasks (Sequence[str]): Task names.
        weights (Sequence[float] | dict[str, float], optional): ``alpha_i``, in the order of
            ``tasks`` or keyed by task. Defaults to None, i.e. 1 for every task (the paper's NYUD-v2
            setting: seg 1, depth 1).
        init_cfg (dict or list[dict], optional): Initialisation config. Defaults to None.
    """

    #: ``weights`` may be keyed by task: a config keeps its own tasks' entries.
    task_keyed_args = ('weights',)

    def __init__(
        self,
        tasks: Sequence[str],
        weights: Union[Sequence[float], Mapping[str, float], None] = None,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(tasks, init_cfg=init_cfg)
        if weights is None:
            weights = [1.0] * len(self.tasks)
        if isinstance(weights, Mapping):
            if set(weights) != set(self.tasks):
                raise ValueError(
                    f'weights must have one entry per task {self.tasks}, got keys {list(weights)}'
                )
            weights = [weights[t] for t in self.tasks]
        if len(weights) != len(self.tasks):
            raise ValueError(
                f'weights must have {len(self.tasks)} entries (tasks {self.tasks}), '
                f'got {list(weights)}'
            )
        self.weights = {task: float(w) for task, w in zip(self.tasks, weights)}

    def get_weights(self, totals):
        weights = {task: totals[task].new_tensor(self.weights[task]) for task in self.tasks}
        return weights, {}


@MODELS.register_module()
class UncertaintyLossWeighting(BaseLossWeighting):
    """Homoscedastic-uncertainty weighting (Kendall et al., CVPR 2018), as used by MTFormer.

    ``L = sum_i exp(-s_i) L_i + s_i`` with one learnable log-variance ``s_i`` per task. The
    ``s_i`` terms are returned as ``'<task>.loss_log_var'`` so mmengine adds them to the total.
    (Kendall's regression form has an extra factor 1/2; this is the common simplified form.)
    ``s_i`` are ordinary parameters of the model: exclude them from weight decay with
    ``paramwise_cfg=dict(custom_keys={'loss_weighting': dict(decay_mult=0.)})`` if wanted.

    Args:
        tasks (Sequence[str]): Task names.
        init_log_var (float): Initial ``s_i``. Defaults to 0.0 (all weights 1).
        init_cfg (dict or list[dict], optional): Initialisation config. Defaults to None.
    """

    def __init__(
        self, tasks: Sequence[str], init_log_var: float = 0.0, init_cfg: OptMultiConfig = None
    ) -> None:
        super().__init__(tasks, init_cfg=init_cfg)
        self.log_vars = nn.Parameter(torch.full((len(self.tasks),), float(init_log_var)))

    def get_weights(self, totals):
        weights, extras = {}, {}
        for i, task in enumerate(self.tasks):
            weights[task] = torch.exp(-self.log_vars[i])
            extras[f'{task}.loss_log_var'] = self.log_vars[i]
        return weights, extras


@MODELS.register_module()
class DWALossWeighting(BaseLossWeighting):
    """Dynamic Weight Average (Liu et al., CVPR 2019).

    ``w_i(t) = n exp(r_i / T) / sum_k exp(r_k / T)`` with ``r_i = L̄_i(t-1) / L̄_i(t-2)``, where
    ``L̄_i(t-1)`` and ``L̄_i(t-2)`` are task ``i``'s mean loss over the two last completed intervals
    of ``update_interval`` training iterations (the paper uses epochs: set ``update_interval`` to
    the number of iterations per epoch). Until two intervals are complete every weight is 1.
    The weights are constants (no gradient). In distributed training the losses are averaged over
    processes first so that every process uses the same weights. The loss history is kept in
    registered buffers, so it is saved in checkpoints and restored on resume. Only calls in
    training mode update the history.

    Args:
        tasks (Sequence[str]): Task names.
        temperature (float): ``T``. Defaults to 2.0 (the paper's value).
        update_interval (int): Iterations averaged into one history entry. Defaults to 1.
        init_cfg (dict or list[dict], optional): Initialisation config. Defaults to None.
    """

    def __init__(
        self,
        tasks: Sequence[str],
        temperature: float = 2.0,
        update_interval: int = 1,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(tasks, init_cfg=init_cfg)
        if temperature <= 0:
            raise ValueError(f'temperature must be positive, got {temperature}')
        if update_interval < 1:
            raise ValueError(f'update_interval must be >= 1, got {update_interval}')
        self.temperature = temperature
        self.update_interval = update_interval
        num_tasks = len(self.tasks)
        # Row 0: mean losses of interval t-2, row 1: of interval t-1.
        self.register_buffer('loss_history', torch.zeros(2, num_tasks))
        self.register_buffer('num_intervals', torch.zeros((), dtype=torch.long))
        self.register_buffer('running_sum', torch.zeros(num_tasks))
        self.register_buffer('running_count', torch.zeros((), dtype=torch.long))

    def get_weights(self, totals):
        losses = torch.stack([totals[t].detach().float() for t in self.tasks])
        if self.num_intervals >= 2:
            ratio = self.loss_history[1] / self.loss_history[0].clamp(min=1e-12)
            weights = len(self.tasks) * torch.softmax(ratio / self.temperature, dim=0)
        else:
            weights = torch.ones_like(losses)
        if self.training:
            self._update_history(losses)
        dtype = totals[self.tasks[0]].dtype
        return {task: weights[i].to(dtype) for i, task in enumerate(self.tasks)}, {}

    @torch.no_grad()
    def _update_history(self, losses: Tensor) -> None:
        """Add one iteration's losses; close the interval after ``update_interval`` of them."""
        losses = losses.clone()
        dist.all_reduce(losses, op='mean')
        self.running_sum += losses.to(self.running_sum.device)
        self.running_count += 1
        if self.running_count >= self.update_interval:
            mean = self.running_sum / self.running_count
            self.loss_history.copy_(torch.stack([self.loss_history[1], mean]))
            self.num_intervals += 1
            self.running_sum.zero_()
            self.running_count.zero_()
