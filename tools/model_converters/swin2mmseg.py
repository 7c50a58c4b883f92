"""Convert official or timm Swin (v1) weights to mmseg 1.x ``SwinTransformer`` keys.

Usage::

    python tools/model_converters/swin2mmseg.py SRC DST [--src-format auto|official|timm]

SRC is a local checkpoint (``.pth`` from the microsoft/Swin-Transformer release, a timm
``swin_*`` state dict, or ``.safetensors``); DST receives ``{'state_dict': ...}``, written
atomically. Use DST as ``backbone.init_cfg=dict(type='Pretrained', checkpoint=DST)``.
See docs/backbones.md.
"""

import argparse
import os
import sys
from typing import List, Optional

from mmkem.utils.checkpoint_io import load_state_dict_file, save_checkpoint_atomic
from mmkem.utils.converters.swin import SWIN_FORMATS, convert_swin_to_mmseg


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Convert official/timm Swin V1 weights to mmseg's SwinTransformer layout."
    )
    parser.add_argument('src', help='source checkpoint file (.pth/.pt/.bin/.safetensors)')
    parser.add_argument('dst', help='output checkpoint file')
    parser.add_argument(
        '--src-format',
        choices=SWIN_FORMATS,
        default='auto',
        help='key layout of SRC (auto: tell official and timm apart by where patch merging sits)',
    )
    parser.add_argument(
        '--drop-final-norm',
        action='store_true',
        help="drop the classifier's final norm instead of mapping it to mmseg's last output norm",
    )
    parser.add_argument(
        '--unsafe-load',
        action='store_true',
        help='torch.load SRC with weights_only=False (only for a file you trust)',
    )
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    try:
        state_dict = load_state_dict_file(args.src, weights_only=not args.unsafe_load)
        converted = convert_swin_to_mmseg(
            state_dict, src_format=args.src_format, keep_final_norm=not args.drop_final_norm
        )
    except (FileNotFoundError, ValueError) as e:
        # A wrong file or --src-format is the user's to fix: one line, no traceback.
        if os.environ.get('MMKEM_DEBUG'):
            raise
        sys.exit(f'error: {args.src}: {e}')
    save_checkpoint_atomic(converted, args.dst)
    print(f'converted {len(state_dict)} -> {len(converted)} tensors: {args.dst}')


if __name__ == '__main__':
    main()
