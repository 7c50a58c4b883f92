"""Every shipped config trains for one iteration, validates and saves a checkpoint as shipped.

The configs run with ``tools/train.py`` from a scratch checkout (``mmkem.testing.write_checkout``)
whose tiny datasets sit at the configs' own data roots and whose pretrained files are where the
configs read or download them (random weights), so nothing in a config is changed but the
iterations (1) and the batch size (2: the smallest BatchNorm takes; a step at the configs' own
448x576 / 512x512 crops of batch 8 takes minutes on a CPU). A test that patched a config before
training it (the data preprocessor's size) passed while the shipped upernet_r18_kem config
stopped at its first iteration.
"""

import glob
import os
import os.path as osp
import sys

import pytest

from mmkem.testing import write_checkout
from mmkem.testing.fork_runner import ForkRunner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    # configs/sort_of_clevr/ generate their own data: tests/test_experiments/
    if '_base_' not in p and 'sort_of_clevr' not in p
)


@pytest.fixture(scope='module')
def checkout(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('shipped'))
    env = write_checkout(root, REPO)
    fork = ForkRunner(path=[REPO])
    try:
        yield root, fork, env
    finally:
        fork.close()


@pytest.mark.parametrize('config', CONFIGS)
def test_shipped_config_trains_one_iteration(config, checkout):
    root, fork, env_extra = checkout
    name = osp.splitext(osp.basename(config))[0]
    options = ['train_cfg.max_iters=1', 'train_dataloader.batch_size=2']
    argv = ['tools/train.py', config, '--work-dir', f'work_dirs/{name}', '--cfg-options', *options]
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env.update(OMP_NUM_THREADS='1', **env_extra)
    out, err = osp.join(root, f'{name}.out'), osp.join(root, f'{name}.err')
    code = fork.run(argv, root, env, out, err, timeout=600)
    with open(out) as f_out, open(err) as f_err:
        log = f_out.read() + f_err.read()
    assert code == 0, f'{sys.executable} {" ".join(argv)}\n{log[-5000:]}'
    assert osp.isfile(osp.join(root, 'work_dirs', name, 'iter_1.pth')), log[-3000:]
    assert 'Iter(val)' in log or 'Iter(train) [1/1]' in log, log[-3000:]
