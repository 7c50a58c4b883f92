"""tools/setup_env.sh: what it does on a GPU machine (read from the script, and its first check
run against an interpreter without torch)."""

import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO, 'tools', 'setup_env.sh')


def test_mmcv_is_built_with_the_gpu_hidden():
    """mmcv's setup compiles CUDA kernels whenever it sees a GPU (FORCE_CUDA=0 does not stop it)."""
    text = open(SCRIPT).read()
    builds = [line for line in text.splitlines() if 'wheel -v' in line]
    assert builds and all(
        re.search(r'CUDA_VISIBLE_DEVICES= MMCV_WITH_OPS=1 FORCE_CUDA=0', line) for line in builds
    )


def test_system_torch_mode_refuses_an_interpreter_without_torch(tmp_path):
    python = shutil.which('python3') or sys.executable
    probe = subprocess.run([python, '-c', 'import torch'], capture_output=True)
    if probe.returncode == 0:
        pytest.skip(f'{python} has torch: the refusal cannot be shown with it')
    venv = tmp_path / 'venv'
    (venv / 'bin').mkdir(parents=True)
    os.symlink(python, venv / 'bin' / 'python')
    env = dict(os.environ, MMKEM_VENV=str(venv), MMKEM_TORCH='system')
    result = subprocess.run(['bash', SCRIPT], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1
    assert 'MMKEM_TORCH=system needs an installed torch >= 2.1, < 2.14' in result.stdout
