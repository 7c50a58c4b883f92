"""The commands of the README and docs, as a test reads them.

A documented command block is a fenced block marked by an HTML comment on the line directly above
its opening fence::

    <!-- doc-command: sweeps-grid -->
    ```bash
    python tools/analysis/sweep.py CONFIG --grid a=1,2 --dry-run
    ```

Every shell block (``bash``, ``sh``, ``shell``, ``console``) of the collected files must carry a
marker; a ``python`` block may. ``tests/test_docs/`` holds the table that says how each marked
block runs at its smallest size (``tests/test_docs/doc_commands.py``, which also states the
convention).
"""

import glob
import os.path as osp
import re
import shlex
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

__all__ = [
    'DOC_FILES',
    'SHELL_LANGS',
    'DocBlock',
    'collect_blocks',
    'marker_problems',
    'parse_blocks',
    'split_commands',
    'split_env',
]

DOC_FILES = ('README.md', 'docs/*.md')
SHELL_LANGS = ('bash', 'sh', 'shell', 'console')
MARKER = re.compile(r'^<!--\s*doc-command:\s*(?P<id>\S+)\s*-->\s*$')
VALID_ID = re.compile(r'^[a-z0-9][a-z0-9-]*$')
FENCE = re.compile(r'^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)')
ENV_WORD = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*=')


@dataclass
class DocBlock:
    """One fenced block of a doc.

    Attributes:
        path (str): The doc, relative to the repository root.
        line (int): 1-based line of the opening fence.
        lang (str): The fence's language (``''`` when none).
        text (str): The block's content.
        id (str, optional): The ``doc-command`` marker's id, if marked.
        marker (str, optional): The raw marker value when it is not a valid id.
    """

    path: str
    line: int
    lang: str
    text: str
    id: Optional[str] = None
    marker: Optional[str] = None

    @property
    def where(self) -> str:
        return f'{self.path}:{self.line}'

    @property
    def is_shell(self) -> bool:
        return self.lang in SHELL_LANGS

    def commands(self) -> List[List[str]]:
        """The block's commands, each as its words (see :func:`split_commands`)."""
        return split_commands(self.text)


def parse_blocks(text: str, path: str) -> List[DocBlock]:
    """Every fenced block of a Markdown text, with the marker on the line above it.

    Args:
        text (str): The Markdown.
        path (str): The name to report (relative path).

    Returns:
        list[DocBlock]: In document order.
    """
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, start = match.group('fence'), i
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        marker = MARKER.match(lines[start - 1].strip()) if start > 0 else None
        raw = marker.group('id') if marker else None
        blocks.append(
            DocBlock(
                path=path,
                line=start + 1,
                lang=match.group('lang').lower(),
                text='\n'.join(body),
                id=raw if raw and VALID_ID.match(raw) else None,
                marker=raw if raw and not VALID_ID.match(raw) else None,
            )
        )
        i += 1
    return blocks


def collect_blocks(repo: str, patterns: Sequence[str] = DOC_FILES) -> List[DocBlock]:
    """The fenced blocks of every doc matching ``patterns`` under ``repo``, in file order.

    Args:
        repo (str): The repository root.
        patterns (Sequence[str]): Glob patterns relative to ``repo``. Defaults to the README and
            ``docs/*.md``.

    Returns:
        list[DocBlock]: Blocks of all files (sorted by path within a pattern).
    """
    blocks = []
    for pattern in patterns:
        for path in sorted(glob.glob(osp.join(repo, pattern))):
            with open(path, encoding='utf-8') as f:
                blocks += parse_blocks(f.read(), osp.relpath(path, repo))
    return blocks


def marker_problems(blocks: Sequence[DocBlock]) -> List[str]:
    """What is wrong with the markers: unmarked shell blocks, invalid or duplicate ids.

    Args:
        blocks (Sequence[DocBlock]): From :func:`collect_blocks`.

    Returns:
        list[str]: One line per problem, naming ``file:line``; empty when all is well.
    """
    problems = []
    seen: Dict[str, str] = {}
    for block in blocks:
        if block.marker is not None:
            problems.append(
                f'{block.where}: doc-command id {block.marker!r} is not of the form '
                '[a-z0-9][a-z0-9-]*'
            )
        elif block.is_shell and block.id is None:
            problems.append(
                f'{block.where}: ```{block.lang} block without a <!-- doc-command: ID --> marker '
                'on the line above'
            )
        if block.id is not None:
            if block.id in seen:
                problems.append(
                    f'{block.where}: doc-command id {block.id!r} already used at {seen[block.id]}'
                )
            seen.setdefault(block.id, block.where)
    return problems


def split_commands(text: str) -> List[List[str]]:
    """The commands of a shell block, each as its words.

    Lines ending in ``\\`` continue on the next line; ``#`` comments are dropped (shell rules);
    a leading ``$ `` prompt is dropped; blank and comment-only lines give no command.

    Args:
        text (str): The block's content.

    Returns:
        list[list[str]]: One word list per command.
    """
    commands, pending = [], ''
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith('$ ') and not pending:
            stripped = stripped[2:]
        if stripped.endswith('\\'):
            pending += stripped[:-1] + ' '
            continue
        words = shlex.split(pending + stripped, comments=True)
        pending = ''
        if words:
            commands.append(words)
    if pending.strip():
        words = shlex.split(pending, comments=True)
        if words:
            commands.append(words)
    return commands


def split_env(words: Sequence[str]) -> Tuple[Dict[str, str], List[str]]:
    """Leading ``VAR=value`` words of a command and the rest.

    Args:
        words (Sequence[str]): A command's words.

    Returns:
        tuple[dict[str, str], list[str]]: The variables and the program with its arguments.
    """
    env: Dict[str, str] = {}
    i = 0
    while i < len(words) and ENV_WORD.match(words[i]):
        key, value = words[i].split('=', 1)
        env[key] = value
        i += 1
    return env, list(words[i:])
