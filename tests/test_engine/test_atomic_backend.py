"""AtomicLocalBackend / atomic_write_bytes: a reader sees the old file or the whole new one."""

import os
import os.path as osp
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from mmengine.fileio import get_file_backend

import mmkem  # noqa: F401  (registers the 'atomic_local' backend)
from mmkem.engine import AtomicLocalBackend
from mmkem.utils import atomic_write, atomic_write_bytes


def test_backend_is_selected_by_name_and_writes(tmp_path):
    backend = get_file_backend(str(tmp_path), backend_args=dict(backend='atomic_local'))
    assert isinstance(backend, AtomicLocalBackend)
    target = tmp_path / 'sub' / 'iter_2.pth'
    backend.put(b'abc', str(target))
    assert target.read_bytes() == b'abc'
    backend.put_text('iter_2.pth', str(tmp_path / 'last_checkpoint'))
    assert backend.get_text(str(tmp_path / 'last_checkpoint')) == 'iter_2.pth'
    assert sorted(os.listdir(tmp_path)) == ['last_checkpoint', 'sub']  # no temporary left
    mode = os.stat(target).st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / 'ckpt.pth'
    target.write_bytes(b'old')

    def broken_replace(src, dst):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'replace', broken_replace)
    with pytest.raises(OSError, match='disk full'):
        atomic_write_bytes(b'new' * 1000, target)
    assert target.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['ckpt.pth']


def test_sigkill_during_writes_never_leaves_a_partial_file(tmp_path):
    """A process rewriting a 16 MB file in a loop is killed at a random moment of a write: the
    file is always one complete version."""
    target = tmp_path / 'ckpt.pth'
    size = 16 * 2**20
    script = textwrap.dedent(f"""
        import importlib.util
        # Load the module file alone: importing the mmkem package would take most of the test.
        spec = importlib.util.spec_from_file_location('atomic_write', {atomic_write.__file__!r})
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        atomic_write_bytes = module.atomic_write_bytes
        payloads = [bytes([65]) * {size}, bytes([66]) * {size}]
        atomic_write_bytes(payloads[0], {str(target)!r})
        print('ready', flush=True)
        i = 1
        while True:
            atomic_write_bytes(payloads[i % 2], {str(target)!r})
            i += 1
    """)
    for delay in (0.05, 0.13, 0.31):
        proc = subprocess.Popen([sys.executable, '-c', script], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == 'ready'
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        data = target.read_bytes()
        assert len(data) == size and data in (b'A' * size, b'B' * size)
        for name in os.listdir(tmp_path):  # a killed write may leave its hidden temporary
            if name != 'ckpt.pth':
                assert name.startswith('.ckpt.pth.') and name.endswith('.tmp')
                os.remove(osp.join(tmp_path, name))


def test_mmkem_schedules_write_checkpoints_atomically():
    from mmengine.config import Config

    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    for name in ('configs/kem_swin_nyud.py', 'configs/demo/kem_effnet-lite0_nyud-demo.py'):
        cfg = Config.fromfile(osp.join(repo, name))
        hooks = cfg.default_hooks
        assert hooks.checkpoint.backend_args == dict(backend='atomic_local'), name
        assert hooks.rng_state.type == 'RNGStateHook', name
