"""Swin (v1) weights, official release or timm 1.x, to mmseg 1.x ``SwinTransformer`` keys.

``tools/model_converters/swin2mmseg.py`` is the command line. Imports only ``torch``.
"""

import re
from collections import OrderedDict

import torch

from ..checkpoint_io import StateDict

__all__ = [
    'SWIN_FORMATS',
    'convert_swin_to_mmseg',
    'detect_swin_format',
    'swin_timm_to_official',
    'unfold_norm_order',
    'unfold_reduction_order',
]

SWIN_FORMATS = ('auto', 'official', 'timm')

_LAYER_DOWNSAMPLE = re.compile(r'^layers\.(\d+)\.downsample\.')
_SWIN_DROPPED = re.compile(r'(^head\.|relative_position_index$|attn_mask$)')
# official key (after `layers.i` -> `stages.i`) -> mmseg key, for the parts that are renamed only
_SWIN_RENAMES = (
    (re.compile(r'^patch_embed\.proj\.(weight|bias)$'), r'patch_embed.projection.\1'),
    (re.compile(r'^patch_embed\.norm\.(weight|bias)$'), r'patch_embed.norm.\1'),
    (re.compile(r'^absolute_pos_embed$'), 'absolute_pos_embed'),
    (
        re.compile(r'^layers\.(\d+)\.blocks\.(\d+)\.(norm1|norm2)\.(weight|bias)$'),
        r'stages.\1.blocks.\2.\3.\4',
    ),
    (
        re.compile(
            r'^layers\.(\d+)\.blocks\.(\d+)\.attn\.'
            r'(qkv\.weight|qkv\.bias|proj\.weight|proj\.bias|relative_position_bias_table)$'
        ),
        r'stages.\1.blocks.\2.attn.w_msa.\3',
    ),
    (
        re.compile(r'^layers\.(\d+)\.blocks\.(\d+)\.mlp\.fc1\.(weight|bias)$'),
        r'stages.\1.blocks.\2.ffn.layers.0.0.\3',
    ),
    (
        re.compile(r'^layers\.(\d+)\.blocks\.(\d+)\.mlp\.fc2\.(weight|bias)$'),
        r'stages.\1.blocks.\2.ffn.layers.1.\3',
    ),
)
_SWIN_MERGE_REDUCTION = re.compile(r'^layers\.(\d+)\.downsample\.reduction\.weight$')
_SWIN_MERGE_NORM = re.compile(r'^layers\.(\d+)\.downsample\.norm\.(weight|bias)$')
_SWIN_FINAL_NORM = re.compile(r'^norm\.(weight|bias)$')


def unfold_reduction_order(weight: torch.Tensor) -> torch.Tensor:
    """Reorder a patch-merging ``reduction`` weight from Swin's concat order to ``nn.Unfold``'s.

    Official Swin (and timm 1.x) concatenate the 2x2 neighbours as ``[x(0,0), x(1,0), x(0,1),
    x(1,1)]`` (row offset fastest) along channels, so input channel ``k * C + c`` is neighbour
    ``k`` of channel ``c``. mmseg's ``PatchMerging`` uses ``nn.Unfold``, whose channel ``c * 4 +
    2 * dy + dx`` is channel ``c`` at offset ``(dy, dx)``. This is mmseg's
    ``correct_unfold_reduction_order``.

    Args:
        weight (Tensor): ``(C_out, 4 * C)`` linear weight in Swin's order.

    Returns:
        Tensor: ``(C_out, 4 * C)`` weight in ``nn.Unfold`` order.
    """
    out_channels, in_channels = weight.shape
    weight = weight.reshape(out_channels, 4, in_channels // 4)
    return weight[:, [0, 2, 1, 3], :].transpose(1, 2).reshape(out_channels, in_channels)


def unfold_norm_order(weight: torch.Tensor) -> torch.Tensor:
    """Reorder a patch-merging LayerNorm weight or bias (``(4 * C,)``) like
    :func:`unfold_reduction_order` (mmseg's ``correct_unfold_norm_order``)."""
    in_channels = weight.shape[0]
    weight = weight.reshape(4, in_channels // 4)
    return weight[[0, 2, 1, 3], :].transpose(0, 1).reshape(in_channels)


def detect_swin_format(state_dict: StateDict) -> str:
    """Tell an official-release Swin state dict from a timm 1.x one.

    Both name blocks ``layers.i.blocks.j``; they differ in where patch merging sits: the official
    release puts it at the END of stage ``i`` (``layers.0.downsample`` exists, the last stage has
    none), timm 1.x at the START of stage ``i + 1`` (``layers.0`` has none).

    Args:
        state_dict (dict[str, Tensor]): A Swin (v1) classification state dict.

    Returns:
        str: ``'official'`` or ``'timm'``.
    """
    keys = list(state_dict)
    if any(k.startswith('stages.') for k in keys):
        raise ValueError(
            "state_dict already uses mmseg's SwinTransformer layout ('stages.*' keys): "
            'it needs no conversion'
        )
    if any('cpb_mlp' in k or 'logit_scale' in k for k in keys):
        raise ValueError(
            'state_dict is a Swin V2 checkpoint (cpb_mlp / logit_scale keys); only Swin V1 '
            "converts to mmseg's SwinTransformer"
        )
    if not any(k.startswith('layers.') for k in keys):
        raise ValueError(
            "state_dict is not a Swin checkpoint: expected 'layers.<i>.blocks.<j>.*' keys, got "
            f'{keys[:5]} ...'
        )
    merge_stages = {int(m.group(1)) for k in keys if (m := _LAYER_DOWNSAMPLE.match(k))}
    if 0 in merge_stages:
        return 'official'
    if merge_stages:
        return 'timm'
    if 'head.fc.weight' in state_dict:
        return 'timm'
    if 'head.weight' in state_dict:
        return 'official'
    raise ValueError(
        'cannot tell the Swin layout (no patch-merging and no head keys): pass '
        "src_format='official' or 'timm'"
    )


def swin_timm_to_official(state_dict: StateDict) -> StateDict:
    """Move timm 1.x Swin keys to the official release's layout.

    ``layers.i.downsample.*`` (start of stage ``i``) becomes ``layers.{i-1}.downsample.*`` (end
    of stage ``i - 1``) and ``head.fc.*`` becomes ``head.*``; the tensors are unchanged, because
    timm's patch merging concatenates neighbours in the official order.

    Args:
        state_dict (dict[str, Tensor]): timm ``SwinTransformer.state_dict()``.

    Returns:
        dict[str, Tensor]: The same tensors under official key names.
    """
    out = OrderedDict()
    for key, value in state_dict.items():
        match = _LAYER_DOWNSAMPLE.match(key)
        if match:
            stage = int(match.group(1))
            if stage == 0:
                raise ValueError(
                    f'{key!r}: timm layout has no patch merging in stage 0; is this an '
                    "official checkpoint? Use src_format='official'"
                )
            key = f'layers.{stage - 1}.downsample.' + key[match.end() :]
        elif key.startswith('head.fc.'):
            key = 'head.' + key[len('head.fc.') :]
        out[key] = value
    return out


def convert_swin_to_mmseg(
    state_dict: StateDict, src_format: str = 'auto', keep_final_norm: bool = True
) -> StateDict:
    """Convert official or timm Swin (v1) weights to mmseg 1.x ``SwinTransformer`` keys.

    Renames ``patch_embed.proj`` -> ``patch_embed.projection``, ``layers.i`` -> ``stages.i``,
    ``attn.*`` -> ``attn.w_msa.*``, ``mlp.fc1`` -> ``ffn.layers.0.0``, ``mlp.fc2`` ->
    ``ffn.layers.1``, and reorders the patch-merging reduction and norm weights for mmseg's
    ``nn.Unfold`` (see :func:`unfold_reduction_order`).

    Not converted: the classifier ``head.*`` (no counterpart), and the buffers
    ``relative_position_index`` / ``attn_mask`` (mmseg builds the same index and the shift masks
    itself). mmseg adds one LayerNorm per output stage (``norm0`` .. ``norm3``); the classifier
    checkpoints only have the final ``norm`` (applied to the last stage), which becomes
    ``norm{last}`` when ``keep_final_norm``; the other output norms keep their fresh init.

    Args:
        state_dict (dict[str, Tensor]): Swin V1 classification weights.
        src_format (str): ``'official'`` (microsoft/Swin-Transformer release), ``'timm'`` (timm
            1.x ``swin_*`` models) or ``'auto'`` (tell them apart with
            :func:`detect_swin_format`). Defaults to ``'auto'``.
        keep_final_norm (bool): Map the final ``norm`` to mmseg's ``norm{last}``. With False it
            is dropped, as mmseg's own converter effectively does. Defaults to True.

    Returns:
        dict[str, Tensor]: Weights for ``mmseg.models.backbones.SwinTransformer``.
    """
    if src_format not in SWIN_FORMATS:
        raise ValueError(f'src_format must be one of {SWIN_FORMATS}, got {src_format!r}')
    detected = detect_swin_format(state_dict)
    if src_format == 'auto':
        src_format = detected
    elif src_format != detected and any(_LAYER_DOWNSAMPLE.match(k) for k in state_dict):
        raise ValueError(
            f'src_format={src_format!r} but the patch-merging keys are laid out as in the '
            f'{detected!r} format (official: end of stage i, timm: start of stage i + 1)'
        )
    if src_format == 'timm':
        state_dict = swin_timm_to_official(state_dict)

    last_stage = max(int(k.split('.')[1]) for k in state_dict if k.startswith('layers.'))
    out = OrderedDict()
    unknown = []
    for key, value in state_dict.items():
        if _SWIN_DROPPED.search(key):
            continue
        if match := _SWIN_MERGE_REDUCTION.match(key):
            out[f'stages.{match.group(1)}.downsample.reduction.weight'] = unfold_reduction_order(
                value
            )
        elif match := _SWIN_MERGE_NORM.match(key):
            out[f'stages.{match.group(1)}.downsample.norm.{match.group(2)}'] = unfold_norm_order(
                value
            )
        elif match := _SWIN_FINAL_NORM.match(key):
            if keep_final_norm:
                out[f'norm{last_stage}.{match.group(1)}'] = value
        else:
            for pattern, replacement in _SWIN_RENAMES:
                if pattern.match(key):
                    out[pattern.sub(replacement, key)] = value
                    break
            else:
                unknown.append(key)
    if unknown:
        raise ValueError(
            f'{len(unknown)} Swin keys have no mmseg counterpart (not a Swin V1 '
            f'{src_format} checkpoint?): {unknown[:10]}'
        )
    return out
