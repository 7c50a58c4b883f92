"""What the KEM neck adds to an mmseg model: params, FLOPs and training-step time, side by side.

Builds the config's model twice, as configured (with ``KEMMultiLevelNeck``) and with ``neck=None``
(the mmseg model it was inherited from), random weights, and prints one table:

- params: exact counts (mmengine's ``parameter_count``).
- FLOPs (multiply-adds) of a forward pass at ``--size``: mmengine's ``FlopAnalyzer`` (jit trace),
  and PyTorch's dispatch-level ``FlopCounterMode`` (halved to multiply-adds). The jit tracer does
  not see inside custom autograd Functions, which the fast form of ``KEMCore`` uses for its folded
  LayerNorm-matmuls, so for the neck it undercounts; the dispatch-level count sees every matmul.
- time per training step (``model.train_step``: preprocessing, forward, loss, backward, optimizer
  step with the config's optimizer), the two models interleaved, best of ``--iters`` steps after one
  warm-up step each (on a shared machine the minimum is the stable estimate); and the neck's own
  forward+backward on the backbone's feature maps (best of ``5 * --iters`` runs).

Example (CPU, a few minutes)::

    python tools/analysis/neck_cost.py \
        configs/mmseg_kem/upernet_r50_kem_4xb4-80k_ade20k-512x512.py --size 256 --batch 2 --iters 3
"""

import argparse
import os.path as osp
import sys

# Find mmkem from a source checkout without PYTHONPATH or `pip install -e .`.
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402

from mmkem.analysis.neck_cost import format_report, measure_neck_cost  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='an mmseg config whose model has a neck')
    parser.add_argument('--size', type=int, default=256, help='square input size (pixels)')
    parser.add_argument('--batch', type=int, default=2, help='batch size of the training step')
    parser.add_argument('--iters', type=int, default=3, help='timed training steps per model')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    return parser.parse_args()


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg, rows = measure_neck_cost(args.config, args.size, args.batch, args.iters, args.device)
    for line in format_report(
        cfg, rows, args.config, args.size, args.batch, args.iters, args.device
    ):
        print(line)


if __name__ == '__main__':
    main()
