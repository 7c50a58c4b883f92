"""Training-time overhead of Rep-MTL over plain loss weighting, on the same model, in one run.

One model is built from ``--config`` (it must have a ``regularizer``). Training steps (forward,
losses, backward, optimiser step: ``model.train_step``) are timed on one fixed synthetic batch in
two modes that share every weight and buffer:

- ``weighting``: ``model.regularizer = None`` (the configured loss weighting only);
- ``rep_mtl``: the configured regulariser (second-order TSR + CSA on dL_t/dZ).

The modes alternate in rounds (``--rounds`` x ``--steps`` each, after ``--warmup`` steps of each)
so that drifts of a shared machine hit both alike; the median and the minimum step time per mode
(on a loaded machine the minimum is the stable estimate) and the overheads
``rep_mtl / weighting - 1`` of both are printed and written to ``--out`` as JSON with the machine
and the date. The paper reports 15-20% over loss-scaling methods (its setting: HPS DeepLabV3+
ResNet-50, NYUv2 288x384, batch 8, one GPU).

Example (the paper's setting; on a GPU)::

    python tools/analysis/rep_mtl_overhead.py \
        configs/rep_mtl/hps-rep-mtl_r50-d8_20k_nyuv2-libmtl-288x384.py \
        --batch-size 8 --size 288 384 --device cuda --out work_dirs/rep_mtl_overhead.json

The same with a ResNetV1c-18 (its levels 2, 3 have 256 and 512 channels) and a 64-wide Z::

    python tools/analysis/rep_mtl_overhead.py \
        configs/rep_mtl/hps-rep-mtl_r50-d8_20k_nyuv2-libmtl-288x384.py --size 96 128 \
        --cfg-options model.backbone.depth=18 "model.feature_adapter.in_channels=[256,512]" \
        model.feature_adapter.channels=64
"""

import argparse
import json
import os
import os.path as osp
import sys

# Find mmkem from a source checkout without PYTHONPATH or `pip install -e .`.
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

from mmkem.analysis.rep_mtl_overhead import (  # noqa: E402
    format_overhead,
    measure_rep_mtl_overhead,
)
from mmkem.apis import clear_errors  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('config', help='a config whose model has a regularizer')
    parser.add_argument('--batch-size', type=int, default=2, help='images per step (default 2)')
    parser.add_argument(
        '--size', type=int, nargs=2, default=(96, 128), metavar=('H', 'W'),
        help='input size (default 96 128)',
    )  # fmt: skip
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda' (default cpu)")
    parser.add_argument('--warmup', type=int, default=2, help='untimed steps per mode (default 2)')
    parser.add_argument('--steps', type=int, default=3, help='timed steps per round (default 3)')
    parser.add_argument('--rounds', type=int, default=3, help='alternating rounds (default 3)')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--out', default=None, help='write the results as JSON here')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default=None,
        help='override config keys (the ResNet-18 example above)',
    )  # fmt: skip
    return parser.parse_args()


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    # A config or --cfg-options that build no working model (channels that do not match, no
    # regularizer) is one line naming what to change.
    with clear_errors(extra=(ValueError,)):
        result = measure_rep_mtl_overhead(
            args.config, args.batch_size, args.size, args.device, args.warmup, args.steps,
            args.rounds, args.cfg_options,
        )  # fmt: skip
    for line in format_overhead(result):
        print(line)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)


if __name__ == '__main__':
    main()
