"""Run many ``python SCRIPT ...`` commands cheaply: a server imports torch, mmseg and mmkem once and
forks one child per command.

Each command runs in its own forked process, exactly as ``python SCRIPT ARGS`` would (``sys.argv``,
working directory, environment, ``__main__``, exit code, stdout and stderr to files), but without
the seconds each fresh interpreter spends importing torch, mmcv's ops and mmseg. Nothing one command
does reaches another: each child starts from the server's state right after the imports. Linux
only (``os.fork``). The documented-commands test (``tests/test_docs/``) runs the README's and the
docs' ``python tools/...`` commands through it.
"""

import json
import os
import runpy
import signal
import subprocess
import sys
import time
import traceback
from typing import Dict, Optional, Sequence

__all__ = ['ForkRunner', 'serve']

# What the server imports before it forks (what every tool imports anyway).
PRELOAD = (
    'torch',
    'torchvision',
    'mmengine.runner',
    'mmcv.ops',
    'mmseg.models',
    'mmseg.datasets',
    'mmseg.evaluation',
    'mmseg.visualization',
    'timm',
    'mmkem',
    'mmkem.apis',
    'mmkem.analysis',
)


def _child(request: dict) -> None:
    """Run one command in this (forked) process and never return."""
    code = 1
    try:
        fd_in = os.open(os.devnull, os.O_RDONLY)
        fd_out = os.open(request['stdout'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        fd_err = os.open(request['stderr'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd_in, 0)
        os.dup2(fd_out, 1)
        os.dup2(fd_err, 2)
        os.chdir(request['cwd'])
        os.environ.clear()
        os.environ.update(request['env'])
        threads = request['env'].get('OMP_NUM_THREADS')
        if threads:
            import torch

            torch.set_num_threads(int(threads))
        argv = list(request['argv'])
        if argv[0] == '-m':
            sys.argv = argv[1:]
            runpy.run_module(argv[1], run_name='__main__', alter_sys=True)
        else:
            sys.argv = argv
            sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))  # as `python SCRIPT`
            runpy.run_path(argv[0], run_name='__main__')
        code = 0
    except SystemExit as e:
        if e.code is None:
            code = 0
        elif isinstance(e.code, int):
            code = e.code
        else:
            print(e.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _wait(pid: int, timeout: float, parent: int) -> int:
    """The child's exit code; killed (with its group) after ``timeout`` or when the client that
    started this server is gone (then the server exits too)."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        orphaned = os.getppid() != parent
        if orphaned or time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            if orphaned:
                os._exit(1)
            return -signal.SIGKILL
        time.sleep(0.05)


def serve() -> None:
    """Read one JSON request per line on stdin, answer ``{"returncode": N}`` on stdout.

    A request: ``argv`` (the script or ``-m module`` and its arguments), ``cwd``, ``env``,
    ``stdout`` and ``stderr`` (file paths) and ``timeout`` (seconds).
    """
    import importlib

    parent = os.getppid()
    for name in PRELOAD:
        importlib.import_module(name)
    channel = os.fdopen(os.dup(1), 'w')
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    channel.write(json.dumps({'ready': True}) + '\n')
    channel.flush()
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os.setpgid(0, 0)  # its own group: a timeout kills its DataLoader workers too
            channel.close()
            _child(request)
        channel.write(json.dumps({'returncode': _wait(pid, request['timeout'], parent)}) + '\n')
        channel.flush()


class ForkRunner:
    """The client: start the server (``python -c 'serve()'``) once, then :meth:`run` commands.

    Args:
        python (str): The interpreter. Defaults to this one.
        path (Sequence[str]): Directories put first on the server's ``sys.path`` (the checkout
            under test, so that it, not an installed copy, is imported). Defaults to none.
        env (dict, optional): The server's environment. Defaults to this process's.
    """

    def __init__(
        self,
        python: str = sys.executable,
        path: Sequence[str] = (),
        env: Optional[Dict[str, str]] = None,
    ) -> None:
        code = (
            'import sys; '
            f'sys.path[:0] = {list(path)!r}; '
            'from mmkem.testing.fork_runner import serve; serve()'
        )
        self.proc = subprocess.Popen(
            [python, '-c', code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=dict(os.environ if env is None else env),
            text=True,
        )
        ready = self.proc.stdout.readline()
        if not ready:
            raise RuntimeError('the fork server died while importing (run it by hand to see why)')

    def run(
        self,
        argv: Sequence[str],
        cwd: str,
        env: Dict[str, str],
        stdout: str,
        stderr: str,
        timeout: float = 600,
    ) -> int:
        """Run ``python *argv`` in a forked child; its output goes to the files ``stdout`` and
        ``stderr``. Returns its exit code (negative: killed by that signal)."""
        request = dict(
            argv=list(argv), cwd=cwd, env=dict(env), stdout=stdout, stderr=stderr, timeout=timeout
        )
        self.proc.stdin.write(json.dumps(request) + '\n')
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError('the fork server died')
        return int(json.loads(answer)['returncode'])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
