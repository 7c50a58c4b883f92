"""Every command of the README and docs/*.md runs as written, at its smallest size, on data this
test writes (the convention and the table: ``doc_commands.py`` next to this file).

One test per marked block (its id is the test's id), in the docs' order; the trained commands
share the demo's checkpoint (``python tools/demo.py --iters 2``). ``python
tests/test_docs/doc_commands.py`` prints what is covered and how.
"""

import os.path as osp

import pytest
from doc_commands import BY_ID, DOC_COMMANDS, UNMARKED_DOCS

from mmkem.testing.doc_commands import collect_blocks, marker_problems

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BLOCKS = collect_blocks(REPO)
MARKED = [b for b in BLOCKS if b.id is not None]


def test_every_shell_block_is_marked_and_ids_are_unique():
    problems = [
        p for p in marker_problems(BLOCKS) if not any(p.startswith(doc) for doc in UNMARKED_DOCS)
    ]
    assert not problems, '\n'.join(problems)


def test_every_marked_block_has_an_entry_and_every_entry_a_block():
    marked = {b.id for b in MARKED}
    missing = marked - set(BY_ID)
    assert not missing, f'marked in the docs, no entry in doc_commands.py: {missing}'
    assert not set(BY_ID) - marked, f'entries whose id no doc marks: {set(BY_ID) - marked}'


@pytest.mark.parametrize('doc', sorted(UNMARKED_DOCS))
def test_docs_not_yet_marked(doc):
    blocks = [b for b in BLOCKS if b.path == doc and b.is_shell and b.id is None]
    if blocks:
        pytest.skip(f'{doc}: {len(blocks)} unmarked shell blocks ({UNMARKED_DOCS[doc]})')


@pytest.mark.parametrize('block', MARKED, ids=lambda b: b.id)
def test_documented_command(block, doc_runner):
    entry = BY_ID.get(block.id)
    if entry is None:
        pytest.fail(f'{block.where}: {block.id} has no entry in tests/test_docs/doc_commands.py')
    if entry.skip:
        pytest.skip(entry.why)
    results = doc_runner.run_entry(block.id)
    for result in results:
        assert result.returncode == 0, f'{block.where}:\n{result.failure()}'
        assert 'Traceback (most recent call last)' not in result.stderr, (
            f'{block.where}:\n{result.failure()}'
        )
    if entry.check is not None:
        entry.check(doc_runner.scratch, results)
    not_run = [i for i, c in entry.run.items() if c is None]
    if not_run:
        # Listed as run with a note, so that the coverage list shows what was left out.
        print(f'{block.id}: command(s) {not_run} not run: {entry.why}')
    assert len(DOC_COMMANDS) == len(BY_ID)
