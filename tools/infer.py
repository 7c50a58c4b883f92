"""Predict every task of a trained model on your own images, folders and videos.

python tools/infer.py CONFIG CHECKPOINT INPUT [INPUT ...] --out-dir DIR [--tasks T ...]
    [--device cpu|cuda] [--batch-size N] [--tta flip] [--mode whole|slide --crop-size H W
    --stride H W] [--frames] [--fps FPS]

INPUT: image files, folders of images, video files. DIR receives pred/<task>/<image>.<ext> (label
PNGs, depth as 16-bit millimetre PNG and .npy metres, normals .npy, saliency / edge probability
PNGs), vis/<task>/<image>.png (a picture per task) and panels/<image>.png; a video (or, with
--frames, a folder of frames) writes DIR/<name>/ with the same and a video per task.
CONFIG may be a config file or the name of one under configs/.
"""

import argparse
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

import mmkem  # noqa: E402,F401
from mmkem.apis import MultiTaskInferencer, clear_errors  # noqa: E402
from mmkem.apis.video import infer_inputs  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Multi-task predictions on images and videos')
    parser.add_argument('config', help='config file, or the name of a config under configs/')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('inputs', nargs='+', help='image files, folders of images, video files')
    parser.add_argument('--out-dir', required=True, help='where predictions and pictures go')
    parser.add_argument('--tasks', nargs='+', help="tasks to write (default: all the model's)")
    parser.add_argument(
        '--device', default=None, help='cpu, cuda or cuda:N (default: a GPU if any)'
    )
    parser.add_argument('--batch-size', type=int, default=1, help='images per forward pass')
    parser.add_argument(
        '--tta', choices=['flip'], help='test-time augmentation: also predict the mirrored image'
    )
    parser.add_argument('--mode', choices=['whole', 'slide'], help="inference mode (the config's)")
    parser.add_argument('--crop-size', type=int, nargs=2, metavar=('H', 'W'), help='slide window')
    parser.add_argument('--stride', type=int, nargs=2, metavar=('H', 'W'), help='slide stride')
    parser.add_argument(
        '--frames', action='store_true', help='folders are frames of a video: a video per task'
    )
    parser.add_argument('--fps', type=float, default=None, help='frame rate of written videos')
    return parser.parse_args()


def test_cfg_of(args) -> dict:
    """The model's test_cfg overrides given on the command line."""
    test_cfg = {}
    if args.mode is not None:
        test_cfg['mode'] = args.mode
    if args.crop_size is not None:
        test_cfg['crop_size'] = tuple(args.crop_size)
    if args.stride is not None:
        test_cfg['stride'] = tuple(args.stride)
    if args.tta == 'flip':
        test_cfg['flip'] = True
    return test_cfg


def main():
    args = parse_args()
    with clear_errors(extra=(ValueError,)):
        inferencer = MultiTaskInferencer(
            args.config,
            args.checkpoint,
            tasks=args.tasks,
            device=args.device,
            test_cfg=test_cfg_of(args),
            config_dirs=[osp.join(REPO, 'configs')],
        )
        done = infer_inputs(
            inferencer, args.inputs, args.out_dir, args.batch_size, args.frames, args.fps
        )
    out = args.out_dir
    if done['images']:
        print(
            f'{done["images"]} images: predictions in {out}/pred/<task>/, pictures in '
            f'{out}/vis/<task>/, panels in {out}/panels/'
        )
    for source, videos in done['videos'].items():
        print(f'{source}: ' + ', '.join(f'{k} {v}' for k, v in videos.items()))


if __name__ == '__main__':
    main()
