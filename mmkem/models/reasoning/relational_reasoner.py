"""A small visual question answering model for Sort-of-CLEVR with a configurable interaction module.

The paper's Table 1 puts KEM (or sKEM) inside a reasoning model on Sort-of-CLEVR; it does not
describe that model. This one keeps everything but the interaction module small and fixed, so that
the interaction module (KEM, sKEM in either reading, cross-attention, or none at all for the
control row) is the only difference between the rows of the table, and it is built to learn the
task on a CPU in minutes (docs/sort_of_clevr.md, "Model"): the question is fused into every image
token before anything else, the module's update is scaled by a zero-initialised per-channel factor,
and the readout keeps where things are (max as well as mean pooling).
"""

from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModel
from mmseg.registry import MODELS
from mmseg.utils import OptConfigType, OptMultiConfig
from timm.layers import LayerScale
from torch import Tensor, nn

__all__ = ['RelationalReasoner']


def _coordinates(height: int, width: int, device=None) -> Tensor:
    """``(2, H, W)`` grid of cell-centre coordinates in ``[-1, 1]`` (x first, then y)."""
    ys = (torch.arange(height, device=device) + 0.5) / height * 2 - 1
    xs = (torch.arange(width, device=device) + 0.5) / width * 2 - 1
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
    return torch.stack([grid_x, grid_y])


class _TokenMLP(nn.Module):
    """Pre-norm residual MLP applied to every token ``(..., C)``."""

    def __init__(self, dims: int, ratio: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dims)
        self.fc1 = nn.Linear(dims, ratio * dims)
        self.fc2 = nn.Linear(ratio * dims, dims)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.fc2(F.gelu(self.fc1(self.norm(x))))


@MODELS.register_module()
class RelationalReasoner(BaseModel):
    """Question-conditioned image tokens, an interaction module where relations are computed.

    1. Image: 4 conv layers (3x3, stride 2, norm, ReLU; ``cnn_channels`` wide, as in the
       relation-network paper) turn a 75x75 image into a 5x5 grid; each cell gets its (x, y)
       coordinates appended and a linear layer embeds it to ``embed_dims``: the **image tokens**
       (25, encoded once per image).
    2. Early fusion: each question conditions every image token, FiLM-style (Perez et al. 2018):
       ``t = x * (1 + W_s q) + W_b q`` with two linear embeddings of the 11-d question vector,
       then a per-token residual MLP: the **question tokens** (25 per question). The product makes
       "this cell holds the colour the question names" a linear feature, so a token can tell
       whether it holds the asked object; it knows nothing about the other cells.
    3. ``num_blocks`` times: the interaction module (built from ``interaction`` with
       ``in_channels=embed_dims`` and ``num_tasks=2``) reads two segments of equal length, the
       question tokens and the image tokens of the same cells (question-free); its update of the
       question tokens, multiplied by a per-channel factor initialised to ``layer_scale_init``
       (timm's ``LayerScale``; 0 makes the untrained block an identity, so the model first learns
       what one cell can answer and the module grows in), is added to them, then a per-token
       residual MLP. The image segment is read, not kept: its update is dropped. This is the only
       place where one cell learns about another. With ``interaction=None`` (the control) the
       block is the MLP alone.
    4. Readout: the mean and the max of the question tokens over the grid, concatenated, then an
       MLP over the answers. The max keeps the features (coordinates included) of the most
       salient cell, which the mean would average away.

    The second segment gives sKEM's ``'task_axis'`` reading (eq. 7 mixes the logits of the
    segments position by position) a meaningful pair: at each cell, the cell seen with the
    question and the same cell without it; the ETF removes the part of a slot's logit common to
    both, so the top-k picks cells by what the question changes about them. KEM and
    cross-attention get the same two segments, so the rows differ only in the module.

    Args:
        interaction (dict, optional): Config of a task-interaction module of
            :mod:`mmkem.models.interactions` for two segments: ``KEM``, ``SKEM`` or
            ``TaskCrossAttention`` (``in_channels`` and ``num_tasks`` are filled in); None for no
            module (the control). Defaults to None.
        embed_dims (int): Token width. Defaults to 32.
        cnn_channels (int): Channels of the conv layers. Defaults to 24.
        num_blocks (int): Interaction blocks (each with its own parameters). Defaults to 1.
        mlp_ratio (int): Hidden width ratio of the per-token MLPs. Defaults to 2.
        layer_scale_init (float): Initial value of the per-channel factor on the module's update.
            Defaults to 0.0.
        question_dims (int): Length of the question vector. Defaults to 11.
        num_answers (int): Answer classes. Defaults to 10.
        classifier_hidden (int): Hidden width of the classifier MLP. Defaults to 256.
        norm_cfg (dict, optional): Norm layer of the CNN (mmcv ``build_norm_layer``). None means
            ``dict(type='BN', track_running_stats=False)``: BatchNorm with batch statistics at
            test time too (running statistics lag behind fast-moving weights in short runs). A
            test prediction then depends slightly on the other images of its batch.
            Defaults to None.
        data_preprocessor (dict, optional): Config of the data preprocessor. Defaults to None.
        init_cfg (dict, optional): Initialisation config. Defaults to None.

    Shapes:
        - ``inputs``: ``(B, 3, 75, 75)`` uint8 or float RGB in ``[0, 255]``.
        - ``questions``: ``(B, Q, question_dims)``; ``answers``: ``(B, Q)`` class ids.
        - ``'tensor'`` mode returns the logits ``(B, Q, num_answers)``.
    """

    def __init__(
        self,
        interaction: OptConfigType = None,
        embed_dims: int = 32,
        cnn_channels: int = 24,
        num_blocks: int = 1,
        mlp_ratio: int = 2,
        layer_scale_init: float = 0.0,
        question_dims: int = 11,
        num_answers: int = 10,
        classifier_hidden: int = 256,
        norm_cfg: OptConfigType = None,
        data_preprocessor: OptConfigType = None,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if norm_cfg is None:
            norm_cfg = dict(type='BN', track_running_stats=False)
        for name, value in dict(
            embed_dims=embed_dims,
            cnn_channels=cnn_channels,
            num_blocks=num_blocks,
            mlp_ratio=mlp_ratio,
            question_dims=question_dims,
            num_answers=num_answers,
            classifier_hidden=classifier_hidden,
        ).items():
            if value < 1:
                raise ValueError(f'{name} must be >= 1, got {value}')
        self.embed_dims = embed_dims
        self.num_answers = num_answers
        layers = []
        in_channels = 3
        for _ in range(4):
            layers += [
                nn.Conv2d(in_channels, cnn_channels, 3, stride=2, padding=1),
                build_norm_layer(norm_cfg, cnn_channels)[1],
                nn.ReLU(inplace=True),
            ]
            in_channels = cnn_channels
        self.cnn = nn.Sequential(*layers)
        self.image_embed = nn.Linear(cnn_channels + 2, embed_dims)
        self.question_scale = nn.Linear(question_dims, embed_dims)
        self.question_embed = nn.Linear(question_dims, embed_dims)
        self.fusion_mlp = _TokenMLP(embed_dims, mlp_ratio)
        if interaction is None:
            self.interactions = None
            self.layer_scales = None
        else:
            self.interactions = nn.ModuleList(
                MODELS.build(dict(interaction, in_channels=embed_dims, num_tasks=2))
                for _ in range(num_blocks)
            )
            self.layer_scales = nn.ModuleList(
                LayerScale(embed_dims, init_values=layer_scale_init) for _ in range(num_blocks)
            )
        self.mlps = nn.ModuleList(_TokenMLP(embed_dims, mlp_ratio) for _ in range(num_blocks))
        self.classifier = nn.Sequential(
            nn.LayerNorm(2 * embed_dims),
            nn.Linear(2 * embed_dims, classifier_hidden),
            nn.ReLU(inplace=True),
            nn.Linear(classifier_hidden, num_answers),
        )

    def encode_images(self, inputs: Tensor) -> Tensor:
        """Images ``(B, 3, H, W)`` in ``[0, 255]`` -> image tokens ``(B, h, w, C)``."""
        feats = self.cnn(inputs.float() / 255.0)
        coords = _coordinates(*feats.shape[-2:], device=feats.device)
        coords = coords.to(feats.dtype).expand(feats.shape[0], -1, -1, -1)
        return self.image_embed(torch.cat([feats, coords], dim=1).permute(0, 2, 3, 1))

    def _interact(self, block: int, tokens: Tensor, image: Tensor) -> Tensor:
        """Add block ``block``'s scaled module update to the question tokens ``(N, h, w, C)``."""
        maps = [tokens.permute(0, 3, 1, 2), image.permute(0, 3, 1, 2)]
        update = self.interactions[block](maps)[0].permute(0, 2, 3, 1) - tokens
        return tokens + self.layer_scales[block](update)

    def forward(
        self,
        inputs: Tensor,
        questions: Tensor,
        answers: Optional[Tensor] = None,
        mode: str = 'tensor',
        **meta,
    ) -> Union[Tensor, Dict[str, Tensor], List[dict]]:
        """Answer every question of every image.

        Args:
            inputs (Tensor): Images ``(B, 3, 75, 75)``.
            questions (Tensor): ``(B, Q, question_dims)``.
            answers (Tensor, optional): ``(B, Q)`` answer ids; needed by ``'loss'``.
            mode (str): ``'tensor'`` (logits ``(B, Q, A)``), ``'loss'`` (``loss_answer`` and a
                logged ``accuracy``) or ``'predict'`` (one dict per image with ``pred_answers``,
                ``answers`` and any ``meta`` fields such as ``families`` and ``subtypes``).
            **meta: Per-question fields ``(B, Q)`` passed through to the predictions.
        """
        if questions.dim() != 3 or questions.shape[0] != inputs.shape[0]:
            raise ValueError(
                f'questions must be (B={inputs.shape[0]}, Q, D), got {tuple(questions.shape)}'
            )
        if mode not in ('tensor', 'loss', 'predict'):
            raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', got {mode!r}")
        batch, num_q = questions.shape[:2]
        image = self.encode_images(inputs)  # (B, h, w, C), once per image
        image = image.repeat_interleave(num_q, dim=0)  # (B*Q, h, w, C)
        question = questions.flatten(0, 1).to(image.dtype)[:, None, None]  # (B*Q, 1, 1, D)
        fused = image * (1 + self.question_scale(question)) + self.question_embed(question)
        tokens = self.fusion_mlp(fused)
        for block, mlp in enumerate(self.mlps):
            if self.interactions is not None:
                tokens = self._interact(block, tokens, image)
            tokens = mlp(tokens)
        pooled = torch.cat([tokens.mean(dim=(1, 2)), tokens.amax(dim=(1, 2))], dim=1)
        logits = self.classifier(pooled).view(batch, num_q, self.num_answers)
        if mode == 'tensor':
            return logits
        if mode == 'loss':
            if answers is None:
                raise ValueError("mode='loss' needs answers")
            loss = F.cross_entropy(logits.flatten(0, 1), answers.flatten())
            accuracy = (logits.argmax(-1) == answers).float().mean().detach()
            return dict(loss_answer=loss, accuracy=accuracy)
        preds = logits.argmax(-1)
        outputs = []
        for i in range(batch):
            out = dict(pred_answers=preds[i])
            if answers is not None:
                out['answers'] = answers[i]
            out.update({key: value[i] for key, value in meta.items()})
            outputs.append(out)
        return outputs
