"""Which documented commands the documented-commands test runs, and how it makes each small.

The convention (the docs' side is in ``mmkem/testing/doc_commands.py``):

- A doc marks a fenced block with ``<!-- doc-command: ID -->`` on the line directly above its
  opening fence. Every ``bash`` / ``sh`` / ``shell`` / ``console`` block of README.md and
  docs/*.md must be marked (output goes in ``text`` blocks); ``python`` blocks may be.
- Each marked ID has one :class:`DocCommand` below; the test fails on a marked ID without an
  entry, on an entry whose ID no doc marks, and on a command that fails (exit code, or a
  traceback in its stderr).
- The commands run from a scratch directory laid out like the repository (``tools``, ``configs``
  and ``mmkem`` link to this checkout; ``data/`` holds tiny datasets written in the release
  layouts where the configs look for them; outputs stay there), so the doc's relative paths
  work as written. ``python`` is this interpreter; ``bash tools/*.sh`` find it first on
  ``PATH``.
- Small, not different: ``sub`` replaces text of the documented command (placeholders such as
  ``CONFIG``, a checkpoint of 40k iterations by the one trained here, a big grid by one point),
  ``add`` appends arguments (``--cfg-options train_cfg.max_iters=2``, ``--size 32 32``,
  ``--dry-run``), ``run`` replaces a synopsis line by a concrete command of the same tool, and
  ``None`` in ``run`` skips a command with the entry's ``why``. Identical commands (after these
  changes) run once. ``needs`` names entries whose runs come first (the demo's checkpoint is
  the one trained model every later command uses).

``python tests/test_docs/doc_commands.py`` prints the coverage list; ``pytest -v tests/test_docs``
shows one test per ID.
"""

import glob
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Union

ITERS = ['--cfg-options', 'train_cfg.max_iters=2']
# The paper-size configs resize and crop every image to 448x576 / 512x512 / 288x384 whatever its
# size: their documented trainings run 2 iterations of batch 2 at tiny sizes (pipeline index 2 is
# the random resize, 3 the crop). tests/test_configs/test_shipped_configs_train.py trains every
# config at its own sizes.
NYUD_SMALL = [
    '--cfg-options',
    'train_cfg.max_iters=2',
    'train_dataloader.batch_size=2',
    'train_dataloader.dataset.pipeline.2.scale=(64,48)',
    'train_dataloader.dataset.pipeline.3.crop_size=(48,64)',
]
PASCAL_SMALL = [
    '--cfg-options',
    'train_cfg.max_iters=2',
    'train_dataloader.batch_size=2',
    'train_dataloader.dataset.pipeline.2.scale=(64,64)',
    'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
]
LIBMTL_SMALL = [
    '--cfg-options',
    'train_cfg.max_iters=2',
    'train_dataloader.batch_size=2',
    'train_dataloader.dataset.pipeline.2.scale=(32,24)',
    'train_dataloader.dataset.pipeline.3.crop_size=(24,32)',
]
ADE_TEST_SMALL = ['test_dataloader.dataset.pipeline.1.scale=(256,64)']
ADE_SMALL = [
    '--cfg-options',
    'train_cfg.max_iters=2',
    'train_dataloader.batch_size=2',  # 2: BatchNorm after UPerNet's 1x1 pooling
    'train_dataloader.dataset.pipeline.2.scale=(256,64)',
    'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
    'model.data_preprocessor.size=(64,64)',
    'val_dataloader.dataset.pipeline.1.scale=(256,64)',
]
DEMO = 'configs/demo/kem_effnet-lite0_nyud-demo.py'
NYUD_4TASKS = 'configs/kem/kem_swin-t_40k_nyud-4tasks-448x576.py'
DEMO_CKPT = 'work_dirs/demo/iter_2.pth'  # `python tools/demo.py --iters 2` writes it
TINY_COST = ['--warmup', '0', '--steps', '1']
# docs/troubleshooting.md's 2-process demo training, 2 iterations: readme-tools and
# troubleshooting-dist run the very same command, so it runs once
DIST_TRAIN = (
    f'bash tools/dist_train.sh {DEMO} 2 --work-dir work_dirs/demo_2proc '
    '--cfg-options train_dataloader.batch_size=4 --cfg-options train_cfg.max_iters=2'
)
DIST_TEST = (
    f'bash tools/dist_test.sh {DEMO} {DEMO_CKPT} 2 --work-dir work_dirs/dist_test '
    '--show-dir work_dirs/dist_show'
)


@dataclass
class DocCommand:
    """How one marked block runs.

    Attributes:
        id (str): The marker's id.
        sub (dict[str, str]): Text replacements in each command of the block, before splitting.
        add (list[str] | dict[int, list[str]]): Arguments appended to every command, or to the
            command of that index.
        run (dict[int, str | None]): Concrete commands replacing the block's command of that
            index (synopsis lines); ``None``: not run (say why in ``why``).
        why (str): Why a command is not run, or the whole entry is skipped.
        skip (bool): Run nothing (``why`` says why).
        kind (str): ``'shell'`` (each command on its own), ``'script'`` (the block as one bash
            script, for ``source``), ``'pytest'`` (the test files it names must exist; the suite
            runs them), ``'python'`` (the block is a Python script, run with ``python``) or
            ``'config'`` (the block is a config fragment: ``config_base`` + the block, built and
            run by ``config_check``).
        needs (tuple[str, ...]): Entries that run first.
        prepare (callable, optional): ``prepare(scratch)`` writes what the commands read.
        check (callable, optional): ``check(scratch, results)`` asserts on what they wrote.
        config_base (str): For ``kind='config'``: the lines before the block.
        config_check (str): For ``kind='config'``: the script that builds ``snippet.py``.
        timeout (float): Seconds per command.
    """

    id: str
    sub: Dict[str, str] = field(default_factory=dict)
    add: Union[Sequence[str], Dict[int, Sequence[str]]] = ()
    run: Dict[int, Optional[str]] = field(default_factory=dict)
    why: str = ''
    skip: bool = False
    kind: str = 'shell'
    needs: Sequence[str] = ()
    prepare: Optional[Callable] = None
    check: Optional[Callable] = None
    config_base: str = ''
    config_check: str = ''
    timeout: float = 600


# ------------------------------------------------------------------------------------- helpers
def _pngs(folder: str) -> List[str]:
    return sorted(glob.glob(osp.join(folder, '**', '*.png'), recursive=True))


def _val_count(root: str) -> int:
    with open(osp.join(root, 'gt_sets', 'val.txt')) as f:
        return sum(1 for line in f if line.strip())


def _write_inputs(scratch: str) -> None:
    """photo.jpg, my_folder/ with one image and a 3-frame clip.mp4 for tools/infer.py."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    cv2.imwrite(osp.join(scratch, 'photo.jpg'), img)
    os.makedirs(osp.join(scratch, 'my_folder'), exist_ok=True)
    cv2.imwrite(osp.join(scratch, 'my_folder', 'room.png'), img[:, ::-1])
    writer = cv2.VideoWriter(
        osp.join(scratch, 'clip.mp4'), cv2.VideoWriter_fourcc(*'mp4v'), 4, (64, 48)
    )
    for _ in range(3):
        writer.write(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    writer.release()
    for name in ('a.jpg', 'b.jpg'):
        cv2.imwrite(osp.join(scratch, name), img)


def _write_timm_swin(scratch: str) -> None:
    """A timm Swin-T state dict (random weights) where the README's converter command reads it."""
    import timm
    import torch

    path = osp.join(scratch, 'swin_tiny_patch4_window7_224.pth')
    if not osp.exists(path):
        torch.manual_seed(0)
        torch.save(timm.create_model('swin_tiny_patch4_window7_224').state_dict(), path)


def _check_demo(scratch, results):
    out = results[0].stdout
    assert 'NOT NYUD-v2 numbers' in out and 'semseg/mIoU' in out, out[-2000:]
    assert osp.isfile(osp.join(scratch, DEMO_CKPT))
    assert _pngs(osp.join(scratch, 'work_dirs', 'demo', 'inference', 'panels'))


def _check_tools(scratch, results):
    val = _val_count(osp.join(scratch, 'data', 'nyud_demo'))
    assert len(_pngs(osp.join(scratch, 'work_dirs', 'show', 'test'))) == val
    assert len(glob.glob(osp.join(scratch, 'work_dirs', 'out', 'semseg', '*.png'))) == val
    # every process paints its own share: all test images, not rank 0's
    assert len(_pngs(osp.join(scratch, 'work_dirs', 'dist_show', 'test'))) == val


def _check_infer(scratch, results):
    out = osp.join(scratch, 'outputs')
    assert osp.isfile(osp.join(out, 'panels', 'photo.png'))
    assert osp.isfile(osp.join(out, 'panels', 'room.png'))
    assert osp.isfile(osp.join(out, 'clip', 'semseg.mp4'))


def _check_nyud(scratch, results):
    assert osp.isfile(osp.join(scratch, 'checkpoints', 'swin_tiny_patch4_window7_224_mmseg.pth'))
    assert 'depth/rmse' in results[-1].stdout + results[-1].stderr
    assert len(_pngs(osp.join(scratch, 'vis'))) == _val_count(osp.join(scratch, 'data', 'NYUDv2'))


def _check_eval_edges(scratch, results):
    import json

    preds = osp.join(scratch, 'work_dirs', 'preds')
    assert len(_pngs(osp.join(preds, 'edge'))) == _val_count(osp.join(scratch, 'data', 'NYUDv2'))
    with open(osp.join(preds, 'edge_benchmark.json')) as f:
        saved = json.load(f)
    assert osp.isfile(osp.join(preds, 'edge_pr_curve.png'))
    assert len(saved['thresholds']) == 5, saved['settings']  # the run's --thresholds 5
    assert 0 <= saved['metrics']['odsF'] <= 100, saved['metrics']


def _check_resume(scratch, results):
    for result, start, end in ((results[1], 2, 3), (results[2], 3, 4)):
        log = result.stdout + result.stderr
        assert f'resumed epoch: 0, iter: {start}' in log, log[-2000:]
        assert f'Saving checkpoint at {end} iterations' in log, log[-2000:]
    assert osp.isfile(osp.join(scratch, 'work_dirs', 'tools_from_3', 'iter_4.pth'))


MMSEG_CONFIG_CHECK = """
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
import mmkem  # noqa: F401

cfg = Config.fromfile('snippet.py')
init_default_scope(cfg.default_scope)
cfg.model.pretrained = None
model = MODELS.build(cfg.model).eval()
with torch.no_grad():
    out = model(torch.randn(1, 3, 64, 64), mode='tensor')
assert type(model.neck).__name__ == 'KEMMultiLevelNeck', type(model.neck)
assert out.shape == (1, 150, 16, 16), out.shape
print('built', type(model).__name__, 'with', type(model.neck).__name__)
"""

MULTI_TASK_CONFIG_CHECK = """
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
import mmkem  # noqa: F401
from mmkem.analysis.batches import synthetic_batch
from mmkem.engine import fill_task_config

cfg = fill_task_config(Config.fromfile('snippet.py'))
init_default_scope(cfg.default_scope)
model = MODELS.build(cfg.model)
assert type(model).__name__ == 'MultiTaskSegmentor' and type(model.interaction).__name__ == 'KEM'
losses = model.loss(**model.data_preprocessor(synthetic_batch(model, 1, (64, 64)), True))
assert all(torch.isfinite(v).all() for k, v in losses.items() if 'loss' in k)
print('built', type(model).__name__, 'with', type(model.interaction).__name__)
"""

REP_MTL_CONFIG_CHECK = """
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
import mmkem  # noqa: F401
from mmkem.analysis.batches import synthetic_batch
from mmkem.engine import fill_task_config

cfg = fill_task_config(Config.fromfile('snippet.py'))
init_default_scope(cfg.default_scope)
model = MODELS.build(cfg.model)
losses = model.loss(**model.data_preprocessor(synthetic_batch(model, 2, (64, 64)), True))
assert {'regularizer.tsr', 'regularizer.csa'} <= set(losses), sorted(losses)
print('built with', type(model.regularizer).__name__)
"""


# --------------------------------------------------------------------------------------- table
DOC_COMMANDS = [
    # README.md
    DocCommand(
        'readme-quickstart',
        run={
            0: 'python tools/demo.py --iters 2',  # what `make demo` runs once the env is set up
            1: None,
        },
        why='`make` first runs tools/setup_env.sh (never from a test); `make test` is this suite',
        check=_check_demo,
    ),
    DocCommand(
        'readme-activate',
        kind='script',
        sub={'~/.venvs/mmkem': '{prefix}'},
        why='needs a virtual environment (not MMKEM_VENV=system)',
    ),
    DocCommand(
        'readme-own-mmseg-config',
        kind='config',
        config_base="_base_ = ['mmseg::upernet/upernet_r50_4xb4-80k_ade20k-512x512.py']\n",
        config_check=MMSEG_CONFIG_CHECK,
    ),
    DocCommand(
        'readme-own-multitask-config',
        kind='config',
        config_base="_base_ = ['configs/kem/kem_r50-d8_40k_nyud-448x576.py']\n",
        config_check=MULTI_TASK_CONFIG_CHECK,
    ),
    DocCommand(
        'readme-tools',
        needs=['readme-quickstart'],
        run={
            0: f'python tools/train.py {DEMO} --work-dir work_dirs/tools '
            '--cfg-options train_cfg.max_iters=2',
            1: f'python tools/test.py {DEMO} {DEMO_CKPT} --work-dir work_dirs/test '
            '--show-dir work_dirs/show --out work_dirs/out --tta',
            2: DIST_TRAIN,
            3: DIST_TEST,
        },
        check=_check_tools,
    ),
    DocCommand(
        'readme-infer',
        needs=['readme-quickstart'],
        sub={'work_dirs/demo/iter_300.pth': DEMO_CKPT},
        prepare=_write_inputs,
        check=_check_infer,
    ),
    DocCommand(
        'readme-inferencer',
        kind='python',
        needs=['readme-quickstart'],
        sub={'work_dirs/demo/iter_300.pth': DEMO_CKPT},
        prepare=_write_inputs,
    ),
    DocCommand(
        'readme-nyud',
        prepare=_write_timm_swin,
        sub={'iter_40000.pth': 'iter_2.pth'},
        add={1: NYUD_SMALL},
        check=_check_nyud,
    ),
    DocCommand(
        'readme-pascal',
        needs=['readme-nyud'],  # its converted Swin weights
        sub={'iter_40000.pth': 'iter_2.pth'},
        add={0: PASCAL_SMALL},
    ),
    DocCommand(
        'readme-rep-mtl-config',
        kind='config',
        config_base="_base_ = ['configs/rep_mtl/hps_r50-d8_20k_nyuv2-libmtl-288x384.py']\n",
        config_check=REP_MTL_CONFIG_CHECK,
    ),
    DocCommand(
        'readme-rep-mtl',
        add={
            0: LIBMTL_SMALL,
            1: ['--size', '32', '32', '--batch-size', '2', '--warmup', '0', '--steps', '1'],
            2: ['--size', '32', '32', '--batch-size', '2', '--warmup', '0', '--steps', '1'],
        },
    ),
    DocCommand(
        'readme-mmseg-kem',
        # the ImageNet weights mmseg would download are in the scratch TORCH_HOME
        sub={'iter_80000.pth': 'iter_2.pth'},
        add={0: ADE_SMALL, 1: ['--cfg-options', *ADE_TEST_SMALL]},
    ),
    DocCommand('readme-mmseg-kem-tests', kind='pytest'),
    # batch 2: BatchNorm after UPerNet's 1x1 pooling
    DocCommand('readme-neck-cost', add=['--size', '64', '--batch', '2', '--iters', '1']),
    # docs/backbones.md
    DocCommand(
        'backbones-swin2mmseg',
        prepare=_write_timm_swin,
        run={
            0: 'python tools/model_converters/swin2mmseg.py swin_tiny_patch4_window7_224.pth '
            'checkpoints/swin_timm_converted.pth --src-format timm --drop-final-norm'
        },
    ),
    DocCommand(
        'backbones-efficientnet-lite',
        run={0: 'python tools/model_converters/efficientnet_lite2timm.py checkpoints/lite0.pth'},
    ),
    # docs/experiments.md
    DocCommand(
        'experiments-noise-toy',
        add=['--steps', '2', '--seeds', '0', '--eval-size', '8', '--out', 'work_dirs/noise_toy'],
    ),
    DocCommand(
        'experiments-model-cost',
        # one KEM / CA pair of the default list's nine (the second command's four as documented)
        sub={
            '--out work_dirs/model_cost_nyud': '--out work_dirs/model_cost_nyud --configs '
            'configs/kem/kem_swin-t-s8_40k_nyud-448x576.py '
            'configs/baselines/ca_swin-t-s8_40k_nyud-448x576.py'
        },
        add=['--size', '64', '64', '--batch-size', '1', *TINY_COST, '--neck-repeats', '1'],
    ),
    DocCommand('experiments-tests', kind='pytest'),
    # docs/datasets.md, docs/pascal_context.md: the standard 4- and 5-task protocols
    DocCommand('datasets-nyud-4tasks-train', needs=['readme-nyud'], add=NYUD_SMALL),
    DocCommand('pascal-context-5tasks-train', needs=['readme-nyud'], add=PASCAL_SMALL),
    # docs/metrics.md: the boundary benchmark on the 4-task model's saved predictions
    DocCommand(
        'metrics-eval-edges',
        needs=['datasets-nyud-4tasks-train'],
        sub={
            'CONFIG': NYUD_4TASKS,
            'CHECKPOINT': 'work_dirs/kem_swin-t_40k_nyud-4tasks-448x576/iter_2.pth',
        },
        add={1: ['--thresholds', '5', '--workers', '0']},
        check=_check_eval_edges,
    ),
    DocCommand(
        'metrics-benchmark-edges', add=['--images', '1', '--size', '48', '64', '--no-reference']
    ),
    # docs/gpu.md
    DocCommand(
        'gpu-check',
        skip=True,
        why='`make gpu-bundle` downloads from the package index and `make gpu-check` needs a CUDA '
        'machine; tests/test_tools/test_gpu_check.py runs both steps on CPU (bundle, dry run)',
    ),
    # docs/sort_of_clevr.md: the table at a toy size (one KEM run of 2 steps), the entry point
    DocCommand(
        'sort-of-clevr-table',
        add=[
            *('--iters', '2', '--train-images', '6', '--test-images', '4', '--batch-size', '3'),
            *('--seeds', '0', '--methods', 'KEM', '--jobs', '1'),
        ],
    ),
    DocCommand(
        'sort-of-clevr-train',
        add=[
            '--cfg-options',
            'train_cfg.max_iters=2',
            'train_dataloader.dataset.num_images=6',
            'test_dataloader.dataset.num_images=4',
        ],
    ),
    DocCommand('sort-of-clevr-tests', kind='pytest'),
    # docs/rep_mtl.md
    DocCommand('rep-mtl-train', add=LIBMTL_SMALL),  # readme-rep-mtl's training: runs once
    # docs/sweeps.md
    DocCommand(
        'sweeps-synopsis',
        run={
            0: f'python tools/analysis/sweep.py {DEMO} --grid model.interaction.num_slots=5,10,20 '
            '--grid model.interaction.topk=1,3 --seeds 0 1 --work-dir work_dirs/sweep_demo '
            '--dry-run'
        },
    ),
    DocCommand(
        'sweeps-measured',
        # one grid point of the measured 2 x 2 grid, 2 iterations
        sub={
            'num_slots=5,20': 'num_slots=5',
            'topk=1,3': 'topk=1',
            'max_iters=200 param_scheduler.0.end=200': 'max_iters=2 param_scheduler.0.end=2',
        },
    ),
    # docs/troubleshooting.md
    DocCommand(
        'troubleshooting-check-data',
        run={
            0: f'python tools/analysis/check_dataset.py {DEMO} --split train val',
            1: f'python tools/train.py {DEMO} --check-data --work-dir work_dirs/check_data '
            '--cfg-options train_cfg.max_iters=2',
        },
    ),
    DocCommand(
        'troubleshooting-skip-bad-samples',
        run={
            0: f'python tools/train.py {DEMO} --skip-bad-samples --work-dir work_dirs/skip '
            '--cfg-options train_cfg.max_iters=2'
        },
    ),
    DocCommand(
        'troubleshooting-resume',
        # the first command is readme-tools' training (run once)
        needs=['readme-tools'],
        # (the demo config keeps the last checkpoint only: the third resumes from iter_3)
        sub={'CONFIG': DEMO, 'DIR': 'work_dirs/tools', 'iter_4000.pth': 'iter_3.pth'},
        add={
            0: ITERS,
            1: ['--cfg-options', 'train_cfg.max_iters=3'],
            2: ['--work-dir', 'work_dirs/tools_from_3', '--cfg-options', 'train_cfg.max_iters=4'],
        },
        check=_check_resume,
    ),
    DocCommand(
        'troubleshooting-dist',
        needs=['readme-tools'],  # the same two commands as readme-tools' (run once)
        run={0: DIST_TRAIN, 1: DIST_TEST},
    ),
    DocCommand('troubleshooting-one-vs-two-processes', add=ITERS),
]

# Docs whose shell blocks are not marked yet, with the reason; the lead removes an entry when
# its doc is marked. Listed by the test as skipped.
UNMARKED_DOCS = {}

BY_ID = {entry.id: entry for entry in DOC_COMMANDS}
assert len(BY_ID) == len(DOC_COMMANDS), 'duplicate ids in DOC_COMMANDS'


def coverage_lines(repo: str) -> List[str]:
    """One line per marked block: id, where, and how it runs (the coverage list)."""
    import sys

    sys.path.insert(0, repo)
    from mmkem.testing.doc_commands import collect_blocks

    lines = []
    for block in collect_blocks(repo):
        if block.id is None:
            if block.is_shell:
                lines.append(f'{"(unmarked)":38s} {block.where}')
            continue
        entry = BY_ID.get(block.id)
        if entry is None:
            how = 'NO ENTRY'
        elif entry.skip:
            how = f'skipped: {entry.why}'
        else:
            how = entry.kind
            skipped = [i for i, c in entry.run.items() if c is None]
            if skipped:
                how += f' (command {", ".join(map(str, skipped))} not run: {entry.why})'
        lines.append(f'{block.id:38s} {block.where:28s} {how}')
    return lines


if __name__ == '__main__':
    print('\n'.join(coverage_lines(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))))
