"""A small visual question answering model for Sort-of-CLEVR with a configurable interaction module.

The paper's Table 1 puts KEM (or sKEM) inside a reasoning model on Sort-of-CLEVR; it does not
describe that model. This one keeps everything but the interaction module small and fixed, so that
the interaction module (KEM, sKEM in either reading, or cross-attention) is the only difference
between the rows of the table.
"""

from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModel
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor, nn

__all__ = ['RelationalReasoner']


def _coordinates(height: int, width: int, device=None) -> Tensor:
    """``(2, H, W)`` grid of cell-centre coordinates in ``[-1, 1]`` (x first, then y)."""
    ys = (torch.arange(height, device=device) + 0.5) / height * 2 - 1
    xs = (torch.arange(width, device=device) + 0.5) / width * 2 - 1
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
    return torch.stack([grid_x, grid_y])


class _TokenMLP(nn.Module):
    """Pre-norm residual MLP applied to every token of a map ``(B, C, H, W)``."""

    def __init__(self, dims: int, ratio: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dims)
        self.fc1 = nn.Linear(dims, ratio * dims)
        self.fc2 = nn.Linear(ratio * dims, dims)

    def forward(self, x: Tensor) -> Tensor:
        tokens = x.permute(0, 2, 3, 1)
        tokens = tokens + self.fc2(F.gelu(self.fc1(self.norm(tokens))))
        return tokens.permute(0, 3, 1, 2)


@MODELS.register_module()
class RelationalReasoner(BaseModel):
    """CNN image tokens and a question segment that meet in a KEM / sKEM / cross-attention block.

    1. Image: 4 conv layers (3x3, stride 2, norm, ReLU; ``cnn_channels`` wide, as in the
       relation-network paper) turn a 75x75 image into a 5x5 grid; each cell gets its (x, y)
       coordinates appended and a 1x1 conv projects it to ``embed_dims``: the image segment.
    2. Question: the 11-d question vector is embedded by a linear layer and broadcast over the
       same grid (plus a linear embedding of each cell's coordinates): the question segment, as
       long as the image segment, so sKEM's ``'task_axis'`` reading (which needs equal-length
       segments) applies. Each image is encoded once and paired with all its questions.
    3. ``num_blocks`` times: the interaction module (built from ``interaction`` with
       ``in_channels=embed_dims`` and ``num_tasks=2``; the two "tasks" are the image and the
       question segments) followed by a per-token residual MLP. This is the only place where the
       question meets the image.
    4. Pooling, and an MLP classifier over the answers: ``pooling='mean'`` concatenates the means of
       the two segments; ``'flatten'`` keeps every image token instead of their mean, which adds a
       CNN+MLP path beside the interaction module.

    Args:
        interaction (dict): Config of a task-interaction module of
            :mod:`mmkem.models.interactions` for two segments: ``KEM``, ``SKEM`` or
            ``TaskCrossAttention`` (``in_channels`` and ``num_tasks`` are filled in).
        embed_dims (int): Token width. Defaults to 32.
        cnn_channels (int): Channels of the conv layers. Defaults to 24.
        num_blocks (int): Interaction blocks (each with its own parameters). Defaults to 1.
        mlp_ratio (int): Hidden width ratio of the per-token MLP. Defaults to 2.
        question_dims (int): Length of the question vector. Defaults to 11.
        num_answers (int): Answer classes. Defaults to 10.
        classifier_hidden (int): Hidden width of the classifier MLP. Defaults to 256.
        pooling (str): ``'mean'`` or ``'flatten'`` (see above). Defaults to ``'mean'``.
        norm_cfg (dict, optional): Norm layer of the CNN (mmcv ``build_norm_layer``). None means
            ``dict(type='BN', track_running_stats=False)``: BatchNorm with batch statistics at
            test time too. In short runs it left the answer-type plateau where GroupNorm did not,
            and running statistics (lagging behind fast-moving weights) put test predictions far
            from training ones. A test prediction then depends slightly on the other images of
            its batch. Defaults to None.
        grid_size (int): Side of the image token grid, used by ``'flatten'`` (5 for 75x75
            inputs). Defaults to 5.
        data_preprocessor (dict, optional): Config of the data preprocessor. Defaults to None.
        init_cfg (dict, optional): Initialisation config. Defaults to None.

    Shapes:
        - ``inputs``: ``(B, 3, 75, 75)`` uint8 or float RGB in ``[0, 255]``.
        - ``questions``: ``(B, Q, question_dims)``; ``answers``: ``(B, Q)`` class ids.
        - ``'tensor'`` mode returns the logits ``(B, Q, num_answers)``.
    """

    def __init__(
        self,
        interaction: ConfigType,
        embed_dims: int = 32,
        cnn_channels: int = 24,
        num_blocks: int = 1,
        mlp_ratio: int = 2,
        question_dims: int = 11,
        num_answers: int = 10,
        classifier_hidden: int = 256,
        pooling: str = 'mean',
        norm_cfg: OptConfigType = None,
        grid_size: int = 5,
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
            grid_size=grid_size,
        ).items():
            if value < 1:
                raise ValueError(f'{name} must be >= 1, got {value}')
        if pooling not in ('mean', 'flatten'):
            raise ValueError(f"pooling must be 'mean' or 'flatten', got {pooling!r}")
        self.embed_dims = embed_dims
        self.pooling = pooling
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
        self.image_proj = nn.Conv2d(cnn_channels + 2, embed_dims, 1)
        self.question_embed = nn.Linear(question_dims, embed_dims)
        self.question_pos = nn.Conv2d(2, embed_dims, 1)
        self.interactions = nn.ModuleList(
            MODELS.build(dict(interaction, in_channels=embed_dims, num_tasks=2))
            for _ in range(num_blocks)
        )
        self.mlps = nn.ModuleList(_TokenMLP(embed_dims, mlp_ratio) for _ in range(num_blocks))
        # 'flatten' keeps where things are: every image token (a 75x75 image gives a 5x5 grid)
        pooled_dims = embed_dims * (1 + (grid_size**2 if pooling == 'flatten' else 1))
        self.classifier = nn.Sequential(
            nn.LayerNorm(pooled_dims),
            nn.Linear(pooled_dims, classifier_hidden),
            nn.ReLU(inplace=True),
            nn.Linear(classifier_hidden, num_answers),
        )

    def encode_images(self, inputs: Tensor) -> Tensor:
        """Images ``(B, 3, H, W)`` in ``[0, 255]`` -> image tokens ``(B, C, h, w)``."""
        feats = self.cnn(inputs.float() / 255.0)
        coords = _coordinates(*feats.shape[-2:], device=feats.device)
        coords = coords.to(feats.dtype).expand(feats.shape[0], -1, -1, -1)
        return self.image_proj(torch.cat([feats, coords], dim=1))

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
        batch, num_q = questions.shape[:2]
        image = self.encode_images(inputs)  # (B, C, h, w), once per image
        image = image.repeat_interleave(num_q, dim=0)  # (B*Q, C, h, w)
        coords = _coordinates(*image.shape[-2:], device=image.device).to(image.dtype)
        question = self.question_embed(questions.flatten(0, 1).to(image.dtype))  # (B*Q, C)
        question = question[:, :, None, None] + self.question_pos(coords[None])
        feats = [image, question.expand_as(image).contiguous()]
        for interaction, mlp in zip(self.interactions, self.mlps):
            feats = [mlp(feat) for feat in interaction(feats)]
        image_pooled = feats[0].flatten(1) if self.pooling == 'flatten' else feats[0].mean((2, 3))
        pooled = torch.cat([image_pooled, feats[1].mean(dim=(2, 3))], dim=1)
        logits = self.classifier(pooled).view(batch, num_q, self.num_answers)
        if mode == 'tensor':
            return logits
        if mode == 'loss':
            if answers is None:
                raise ValueError("mode='loss' needs answers")
            loss = F.cross_entropy(logits.flatten(0, 1), answers.flatten())
            accuracy = (logits.argmax(-1) == answers).float().mean().detach()
            return dict(loss_answer=loss, accuracy=accuracy)
        if mode == 'predict':
            preds = logits.argmax(-1)
            outputs = []
            for i in range(batch):
                out = dict(pred_answers=preds[i])
                if answers is not None:
                    out['answers'] = answers[i]
                out.update({key: value[i] for key, value in meta.items()})
                outputs.append(out)
            return outputs
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', got {mode!r}")
