"""mmkem.testing.fork_runner: each command runs as `python SCRIPT ARGS` would, in its own forked
process (argv, cwd, environment, exit code, output), and nothing of one reaches the next."""

import os
import sys

import pytest

from mmkem.testing.fork_runner import ForkRunner

SCRIPT = """
import os, sys
import mmkem
print('argv', sys.argv[1:], 'cwd', os.getcwd(), 'env', os.environ.get('MARK'))
print('seen', getattr(mmkem, '_fork_runner_mark', None))
mmkem._fork_runner_mark = sys.argv[1]
print('to stderr', file=sys.stderr)
if sys.argv[1] == 'fail':
    raise RuntimeError('boom')
if sys.argv[1] == 'sleep':
    import time
    time.sleep(60)
sys.exit(int(sys.argv[2]))
"""


@pytest.fixture(scope='module')
def runner():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    fork = ForkRunner(path=[repo])
    yield fork
    fork.close()


def _run(runner, tmp_path, *args, timeout=60):
    script = tmp_path / 'script.py'
    script.write_text(SCRIPT)
    out, err = tmp_path / 'out.txt', tmp_path / 'err.txt'
    env = dict(os.environ, MARK='m1')
    code = runner.run([str(script), *args], str(tmp_path), env, str(out), str(err), timeout)
    return code, out.read_text(), err.read_text()


def test_runs_like_a_fresh_python(runner, tmp_path):
    code, out, err = _run(runner, tmp_path, 'a', '3')
    assert code == 3
    assert out.splitlines() == [f"argv ['a', '3'] cwd {tmp_path} env m1", 'seen None']
    assert err == 'to stderr\n'
    # the first command's change to a module did not reach the second
    code, out, _ = _run(runner, tmp_path, 'b', '0')
    assert code == 0 and out.splitlines()[1] == 'seen None'


def test_exceptions_and_timeouts(runner, tmp_path):
    code, _, err = _run(runner, tmp_path, 'fail', '0')
    assert code == 1 and 'RuntimeError: boom' in err and 'Traceback' in err
    code, _, _ = _run(runner, tmp_path, 'sleep', '0', timeout=2)
    assert code < 0
    assert _run(runner, tmp_path, 'c', '0')[0] == 0  # the server goes on


def test_python_is_this_interpreter(runner, tmp_path):
    script = tmp_path / 'exe.py'
    script.write_text('import sys; print(sys.executable)')
    out, err = tmp_path / 'o', tmp_path / 'e'
    assert runner.run([str(script)], str(tmp_path), dict(os.environ), str(out), str(err)) == 0
    assert out.read_text().strip() == sys.executable
