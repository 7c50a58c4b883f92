"""The scratch checkout the documented commands run in, its tiny datasets, and the runner."""

import os
import os.path as osp
import shlex
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Tuple

import pytest
from doc_commands import BY_ID

from mmkem.testing import write_checkout
from mmkem.testing.doc_commands import collect_blocks, split_env
from mmkem.testing.fork_runner import ForkRunner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TIMINGS: List[str] = []  # one line per command run, shown at the end of the session


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.section('documented commands run (seconds, command)')
        for line in TIMINGS:
            terminalreporter.write_line(line)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@dataclass
class Result:
    """One command's run."""

    command: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float = 0.0

    def failure(self) -> str:
        return (
            f'`{self.command}` exited with {self.returncode}\n--- stdout (end)\n'
            f'{self.stdout[-3000:]}\n--- stderr (end)\n{self.stderr[-5000:]}'
        )


class DocRunner:
    """Runs documented commands in the scratch directory; identical commands run once."""

    def __init__(self, scratch: str, fork: ForkRunner, env: Dict[str, str]) -> None:
        self.scratch = scratch
        self.fork = fork
        self.blocks = {b.id: b for b in collect_blocks(REPO) if b.id is not None}
        self.cache: Dict[Tuple, Result] = {}
        self.done: Dict[str, List[Result]] = {}
        self.prepared = set()
        self.count = 0
        bin_dir = osp.dirname(sys.executable)
        self.env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH',)}
        self.env.update(
            OMP_NUM_THREADS='1',
            PATH=bin_dir + os.pathsep + os.environ.get('PATH', ''),
            MMKEM_VENV=sys.prefix,
            PORT=str(free_port()),  # tools/dist_*.sh's rendezvous: not another run's
            **env,
        )
        self.values = dict(prefix=sys.prefix, python=sys.executable, scratch=scratch)

    def fill(self, text: str) -> str:
        for key, value in self.values.items():
            text = text.replace('{' + key + '}', value)
        return text

    def execute(self, words: List[str], timeout: float) -> Result:
        env_words, prog = split_env(words)
        env = dict(self.env, **env_words)
        key = (tuple(sorted(env_words.items())), tuple(prog))
        if key in self.cache:
            return self.cache[key]
        command = shlex.join(words)
        self.count += 1
        start = time.monotonic()
        os.makedirs(osp.join(self.scratch, 'logs'), exist_ok=True)
        if prog[0] == 'python':
            out = osp.join(self.scratch, 'logs', f'{self.count:03d}.out')
            err = osp.join(self.scratch, 'logs', f'{self.count:03d}.err')
            code = self.fork.run(prog[1:], self.scratch, env, out, err, timeout)
            with open(out) as f_out, open(err) as f_err:
                result = Result(command, code, f_out.read(), f_err.read())
        elif prog[0] in ('bash', 'sh'):
            res = subprocess.run(
                prog, cwd=self.scratch, env=env, capture_output=True, text=True, timeout=timeout
            )
            result = Result(command, res.returncode, res.stdout, res.stderr)
        else:
            raise AssertionError(f'`{command}`: the test runs python and bash commands only')
        result.seconds = time.monotonic() - start
        TIMINGS.append(f'{result.seconds:6.1f}  rc={result.returncode}  {command}')
        self.cache[key] = result
        return result

    def commands(self, entry) -> List[List[str]]:
        """The block's commands after the entry's changes (``None`` for one not run)."""
        block = self.blocks[entry.id]
        texts = [shlex.join(words) for words in block.commands()]
        programs = {tuple(split_env(words)[1][:2]) for words in block.commands()}
        out = []
        for i, text in enumerate(texts):
            if i in entry.run:
                if entry.run[i] is None:
                    out.append(None)
                    continue
                documented = block.commands()[i]
                text = entry.run[i]
                words = split_env(shlex.split(text))[1]
                # a concrete form of a synopsis line runs the same tool (`make` targets run
                # what the Makefile says)
                assert documented[0] == 'make' or tuple(words[:2]) in programs, (
                    f'{entry.id}: {text!r} runs no program of the documented block {programs}'
                )
            for old, new in entry.sub.items():
                text = text.replace(old, new)
            words = shlex.split(self.fill(text))
            add = entry.add.get(i, ()) if isinstance(entry.add, dict) else entry.add
            out.append(words + [self.fill(a) for a in add])
        return out

    def run_entry(self, entry_id: str) -> List[Result]:
        if entry_id in self.done:
            return self.done[entry_id]
        entry = BY_ID[entry_id]
        for need in entry.needs:
            for result in self.run_entry(need):
                if result.returncode != 0:
                    pytest.fail(f'{entry_id} needs {need}, which failed:\n{result.failure()}')
        if entry.prepare is not None and entry.prepare not in self.prepared:
            entry.prepare(self.scratch)
            self.prepared.add(entry.prepare)
        block = self.blocks[entry_id]
        results = []
        if entry.kind == 'shell':
            for words in self.commands(entry):
                if words is not None:
                    results.append(self.execute(words, entry.timeout))
                    if results[-1].returncode != 0:
                        break
        elif entry.kind == 'script':
            script = block.text
            for old, new in entry.sub.items():
                script = script.replace(old, new)
            path = osp.join(self.scratch, f'{entry_id}.sh')
            with open(path, 'w') as f:
                f.write('set -e\n' + self.fill(script) + '\n')
            results.append(self.execute(['bash', path], entry.timeout))
        elif entry.kind in ('python', 'config'):
            text = block.text
            for old, new in entry.sub.items():
                text = text.replace(old, new)
            name = 'snippet.py' if entry.kind == 'config' else f'{entry_id}.py'
            with open(osp.join(self.scratch, name), 'w') as f:
                f.write(entry.config_base + text + '\n')
            script = name
            if entry.kind == 'config':
                script = f'{entry_id}_check.py'
                with open(osp.join(self.scratch, script), 'w') as f:
                    f.write(entry.config_check)
            results.append(self.execute(['python', script], entry.timeout))
        elif entry.kind == 'pytest':
            for words in block.commands():
                missing = [w for w in words if w.startswith('tests/') and not osp.exists(w)]
                missing = [w for w in missing if not osp.exists(osp.join(REPO, w))]
                assert not missing, f'{block.where}: no such test file {missing}'
        else:
            raise AssertionError(f'{entry_id}: unknown kind {entry.kind!r}')
        self.done[entry_id] = results
        return results


@pytest.fixture(scope='session')
def doc_runner(tmp_path_factory):
    scratch = str(tmp_path_factory.mktemp('checkout'))
    # the Swin weights come from the README's converter command
    env = write_checkout(scratch, REPO, swin_weights=False)
    fork = ForkRunner(path=[REPO])
    try:
        yield DocRunner(scratch, fork, env)
    finally:
        fork.close()
