"""Pretrained weights a config names as local files: say which, how to make them, how to do without.

mmengine's ``PretrainedInit`` only says that a missing checkpoint "can not be found".
:func:`explain_missing_weights` (around ``runner.train()``, ``tools/train.py``) looks at every
``init_cfg=dict(type='Pretrained', checkpoint=...)`` of the model and, for a local file that does
not exist, raises a ``FileNotFoundError`` that says which weights are expected
(:data:`KNOWN_WEIGHTS`, or any ``swin*_mmseg.pth``), the command that makes them, and how to train
without them on purpose.
"""

import contextlib
import os.path as osp
from typing import Any, Dict, Iterator, List, Tuple

__all__ = [
    'KNOWN_WEIGHTS',
    'explain_missing_weights',
    'missing_pretrained_weights',
    'missing_weights_message',
]

#: File name -> (what the weights are, the command that makes them; ``{path}`` is the file).
KNOWN_WEIGHTS: Dict[str, Tuple[str, str]] = {
    'swin_tiny_patch4_window7_224_mmseg.pth': (
        "Swin-T (ImageNet-1k, window 7, 224 px) in mmseg's SwinTransformer layout, converted "
        'from the official release (swin_tiny_patch4_window7_224.pth) or a timm swin_tiny state '
        'dict',
        'python tools/model_converters/swin2mmseg.py swin_tiny_patch4_window7_224.pth {path}',
    ),
}


def _expected(path: str) -> Tuple[str, str]:
    """(what, command) for ``path``: :data:`KNOWN_WEIGHTS`, any ``swin*_mmseg.pth``, or none."""
    name = osp.basename(path)
    if name in KNOWN_WEIGHTS:
        return KNOWN_WEIGHTS[name]
    if name.startswith('swin') and name.endswith('_mmseg.pth'):
        source = name[: -len('_mmseg.pth')] + '.pth'
        return (
            f"Swin V1 weights in mmseg's SwinTransformer layout, converted from {source}",
            f'python tools/model_converters/swin2mmseg.py {source} {{path}}',
        )
    return '', ''


def _pretrained(node: Any, where: str) -> Iterator[Tuple[str, str]]:
    """``(key of the init_cfg, checkpoint)`` of every Pretrained init_cfg under ``node``."""
    if isinstance(node, dict):
        init = node.get('init_cfg')
        for i, cfg in enumerate(init if isinstance(init, (list, tuple)) else [init]):
            if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
                key = f'{where}.init_cfg' + (f'[{i}]' if isinstance(init, (list, tuple)) else '')
                if isinstance(cfg.get('checkpoint'), str):
                    yield key, cfg['checkpoint']
        for name, value in node.items():
            if name != 'init_cfg':
                yield from _pretrained(value, f'{where}.{name}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _pretrained(value, f'{where}[{i}]')


def missing_pretrained_weights(model: Any, where: str = 'model') -> List[Tuple[str, str]]:
    """``(init_cfg key, path)`` of the local Pretrained checkpoints of ``model`` that do not exist.

    Checkpoints with a scheme (``https://``, ``open-mmlab://``, ...) are mmengine's to fetch and
    are not looked at.
    """
    return [(k, p) for k, p in _pretrained(model, where) if '://' not in p and not osp.isfile(p)]


def missing_weights_message(key: str, path: str) -> str:
    """What to say about the missing checkpoint ``path`` of the init_cfg at ``key``."""
    what, command = _expected(path)
    if what:
        expected = f'It expects {what}. Make them with\n    {command.format(path=path)}\n'
    else:
        expected = 'Put the weights there, or point the init_cfg at the file you have\n'
    return (
        f'the pretrained weights {path!r} of {key} do not exist (looked in '
        f'{osp.abspath(path)}).\n{expected}(docs/backbones.md), or train from random '
        f'initialisation on purpose with\n    --cfg-options {key.rsplit(".init_cfg", 1)[0]}'
        f'.init_cfg=None'
    )


@contextlib.contextmanager
def explain_missing_weights(cfg: Any) -> Iterator[None]:
    """Turn mmengine's ``'<path> can not be found.'`` for a Pretrained checkpoint of
    ``cfg.model`` into :func:`missing_weights_message`; other errors pass unchanged.

    Around ``runner.train()``: the weights are loaded after the datasets are built, so a missing
    data root is still reported first.
    """
    try:
        yield
    except FileNotFoundError as err:
        for key, path in missing_pretrained_weights(cfg.get('model')):
            if path in str(err):
                raise FileNotFoundError(missing_weights_message(key, path)) from err
        raise
