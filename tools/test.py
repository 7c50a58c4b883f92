"""Evaluate a checkpoint, like mmseg's tools/test.py.

python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR] [--show] [--show-dir DIR]
    [--tta] [--cfg-options key=value ...] [--launcher none|pytorch|slurm|mpi]

--out DIR       every task's prediction of every test image as DIR/<task>/<image>.<ext>
                (mmkem.utils.prediction_io: label PNGs, depth mm PNG + .npy metres, normals .npy,
                saliency / edge probability PNGs)
--show-dir DIR  a panel (image, ground truth, prediction per task) of every test image in
                DIR/test/, written by every process
--tta           the segmentor's flip test-time augmentation (model.test_cfg.flip=True)
"""

import argparse
import os.path as osp
import sys

# Find mmkem from a source checkout without PYTHONPATH or `pip install -e .`.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmseg.registry import MODELS  # noqa: E402

import mmkem  # noqa: E402,F401  (registers mmkem's modules even if the config has no custom_imports)
from mmkem.apis import add_common_args, build_runner, clear_errors, load_config  # noqa: E402
from mmkem.engine import check_checkpoint_matches  # noqa: E402
from mmkem.models.segmentors import MultiTaskInferenceMixin  # noqa: E402
from mmkem.utils.registry import registered_class  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a (multi-task) segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', help="directory for every task's prediction files: DIR/<task>/<image>.<ext>"
    )
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir', help='directory where a PNG panel of every test image is saved (DIR/test/)'
    )
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='flip test-time augmentation (mmkem models: model.test_cfg.flip=True; other models: '
        "mmseg's tta_model / tta_pipeline)",
    )
    add_common_args(parser)
    return parser.parse_args()


def is_multi_task_model(cfg) -> bool:
    """Whether the config's model predicts with mmkem's inference (test_cfg mode / flip)."""
    cls = registered_class((MODELS,), cfg.model)
    return cls is not None and issubclass(cls, MultiTaskInferenceMixin)


def trigger_visualization_hook(cfg, args):
    """--show: mmseg's visualization hook shows each image; --show-dir: a panel of each image.

    The panels are written by ``MultiTaskVisualizationHook``: by every process (a distributed test
    paints every image once) and without the training loop (mmseg's hook reads ``runner.iter``,
    which builds the training dataset: a test with only the test data present would stop).
    """
    if args.show:
        default_hooks = cfg.default_hooks
        if 'visualization' not in default_hooks:
            raise RuntimeError(
                '--show needs a visualization hook in default_hooks, e.g. '
                "visualization=dict(type='SegVisualizationHook')"
            )
        hook = default_hooks['visualization']
        hook['draw'] = True
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        cfg.custom_hooks = list(cfg.get('custom_hooks', None) or []) + [
            dict(
                type='MultiTaskVisualizationHook',
                out_dir=args.show_dir,
                max_samples=None,
                on_val=False,
            )
        ]
    return cfg


def apply_tta(cfg):
    """The segmentor's flip TTA for mmkem models; mmseg's ``tta_model`` for other models."""
    if is_multi_task_model(cfg):
        cfg.model['test_cfg'] = dict(cfg.model.get('test_cfg', None) or {}, flip=True)
        return cfg
    if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
        raise ValueError(
            f'--tta: the model {cfg.model.get("type")!r} is not an mmkem MultiTaskSegmentor and '
            'the config has no tta_model / tta_pipeline (mmseg test-time augmentation)'
        )
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model
    return cfg


def main():
    args = parse_args()
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    if args.tta:
        cfg = apply_tta(cfg)
    if args.out is not None:
        cfg.custom_hooks = list(cfg.get('custom_hooks', None) or []) + [
            dict(type='MultiTaskPredictionWriterHook', out_dir=args.out)
        ]

    with clear_errors():
        runner = build_runner(cfg)
        check_checkpoint_matches(runner.model, args.checkpoint, args.config)
        runner.test()


if __name__ == '__main__':
    main()
