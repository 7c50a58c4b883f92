"""tools/dist_train.sh and tools/dist_test.sh find the environment's interpreter: on a fresh
machine, `python` from PATH has no torch (it used to be the only one they tried)."""

import os
import os.path as osp
import socket
import stat
import sys

import pytest

from mmkem.testing import run_command

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'demo', 'kem_effnet-lite0_nyud-demo.py')
SCRIPTS = {'dist_train.sh': [CONFIG, '1'], 'dist_test.sh': [CONFIG, 'none.pth', '1']}
ENV_PYTHON = osp.join(sys.prefix, 'bin', 'python')
DROP = ('PYTHONPATH', 'PYTHON', 'VIRTUAL_ENV', 'CONDA_PREFIX')


@pytest.fixture
def path_without_torch(tmp_path):
    """A PATH whose `python` is not the environment's (it fails, as a system python without
    torch would)."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    fake = bin_dir / 'python'
    fake.write_text('#!/bin/sh\necho "this python has no torch" >&2\nexit 3\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return f'{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin'


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return str(sock.getsockname()[1])


def _run(script, tmp_path, **env):
    env.setdefault('PORT', _free_port())
    cmd = ['bash', osp.join(REPO, 'tools', script), *SCRIPTS[script], '--help']
    return run_command(cmd, cwd=str(tmp_path), env_extra=env, drop_env=DROP, timeout=300)


@pytest.mark.skipif(not osp.isfile(ENV_PYTHON), reason='this interpreter is not in a venv')
@pytest.mark.parametrize('script', sorted(SCRIPTS))
def test_dist_scripts_use_mmkem_environment(script, tmp_path, path_without_torch):
    res = _run(script, tmp_path, PATH=path_without_torch, MMKEM_VENV=sys.prefix)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    assert 'usage:' in res.stdout and '--launcher' in res.stdout

    # An active environment's python comes first (here: the fake one), and $PYTHON before all.
    res = _run(script, tmp_path, PATH=path_without_torch, MMKEM_VENV=sys.prefix, VIRTUAL_ENV='/x')
    assert res.returncode != 0 and 'this python has no torch' in res.stderr
    res = _run(
        script,
        tmp_path,
        PATH=path_without_torch,
        MMKEM_VENV=str(tmp_path / 'none'),
        PYTHON=sys.executable,
    )
    assert res.returncode == 0 and 'usage:' in res.stdout
