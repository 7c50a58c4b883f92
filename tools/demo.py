"""The README's main job on this machine: KEM on the NYUD-format demo data.

    python tools/demo.py [--work-dir work_dirs/demo] [--data-root data/nyud_demo] [--iters N]

Builds the demo dataset if it is missing (tools/dataset_converters/make_demo_nyud.py), evaluates the
untrained model, trains KEM with a frozen EfficientNet-Lite0 (real ImageNet weights, offline),
evaluates again, prints both side by side and writes PNG panels (image, GT, prediction per task),
then runs the trained model (mmkem.apis.MultiTaskInferencer) on real photographs that installed
packages ship and writes its predictions and pictures to <work-dir>/inference/.
"""

import argparse
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from mmengine.config import DictAction  # noqa: E402

import mmkem  # noqa: E402,F401
from mmkem.apis import clear_errors  # noqa: E402
from mmkem.apis.demo import NOT_NYUD, format_comparison, run_demo  # noqa: E402

DEMO_CONFIG = osp.join(REPO, 'configs', 'demo', 'kem_effnet-lite0_nyud-demo.py')


def parse_args():
    parser = argparse.ArgumentParser(description='Train and evaluate KEM on the demo data')
    parser.add_argument('--config', default=DEMO_CONFIG, help='demo config')
    parser.add_argument('--work-dir', default='work_dirs/demo', help='logs, checkpoint, panels')
    parser.add_argument('--data-root', default=None, help='demo data (built if missing)')
    parser.add_argument('--iters', type=int, default=None, help='training iterations')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='config overrides')
    return parser.parse_args()


def main():
    args = parse_args()
    with clear_errors():
        result = run_demo(args.config, args.work_dir, args.data_root, args.iters, args.cfg_options)
    print('\n' + NOT_NYUD)
    print(format_comparison(result['before'], result['after']))
    print(
        f'\nLogs, checkpoint and PNG panels (image | GT | prediction per task): {args.work_dir}/'
        '<timestamp>/panels/'
    )
    inference = result['inference']
    out = inference['out_dir']
    print(
        f'The trained model on {len(inference["photos"])} photographs ({out}/photos/): panels '
        f'(image | prediction per task) in {out}/panels/, a picture per task in {out}/vis/<task>/, '
        f'prediction files in {out}/pred/<task>/'
    )


if __name__ == '__main__':
    main()
