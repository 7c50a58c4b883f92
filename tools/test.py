"""Evaluate a checkpoint, like mmseg's tools/test.py.

python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR] [--show] [--show-dir DIR]
    [--cfg-options key=value ...] [--launcher none|pytorch|slurm|mpi]
"""

import argparse
import os.path as osp
import sys

# Find mmkem from a source checkout without PYTHONPATH or `pip install -e .`.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmkem  # noqa: E402,F401  (registers mmkem's modules even if the config has no custom_imports)
from mmkem.apis import add_common_args, build_runner, clear_errors, load_config  # noqa: E402
from mmkem.engine import check_checkpoint_matches  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a (multi-task) segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='directory to save the raw evaluation results (pickled)')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir', help='directory where PNG panels of every test image are saved (vis_data/)'
    )
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument('--tta', action='store_true', help='test time augmentation (cfg.tta_*)')
    add_common_args(parser)
    return parser.parse_args()


def trigger_visualization_hook(cfg, args):
    default_hooks = cfg.default_hooks
    if 'visualization' not in default_hooks:
        raise RuntimeError(
            '--show/--show-dir need a visualization hook in default_hooks, e.g. '
            "visualization=dict(type='SegVisualizationHook')"
        )
    hook = default_hooks['visualization']
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        cfg.visualizer['save_dir'] = args.show_dir
        # mmseg paints every 50th image by default; with --show-dir mmkem paints every one unless
        # the config sets default_hooks.visualization.interval.
        hook.setdefault('interval', 1)
    return cfg


def main():
    args = parse_args()
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    if args.tta:
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True

    with clear_errors():
        runner = build_runner(cfg)
        check_checkpoint_matches(runner.model, args.checkpoint, args.config)
        runner.test()


if __name__ == '__main__':
    main()
