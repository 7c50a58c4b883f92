"""mmkem.testing.doc_commands: the marked command blocks of a doc, as the documented-commands test
reads them."""

from mmkem.testing.doc_commands import marker_problems, parse_blocks, split_commands, split_env

DOC = """# Title

<!-- doc-command: demo-train -->
```bash
OMP_NUM_THREADS=1 python tools/train.py CONFIG \\
    --work-dir DIR   # a comment
# a comment line
python tools/test.py CONFIG CKPT --grid a=1,2
```

```bash
make demo
```

<!-- doc-command: demo-train -->
```python
x = 1  # not a command
```

<!-- doc-command: Bad_Id -->
```text
output
```
"""


def test_blocks_markers_and_problems():
    blocks = parse_blocks(DOC, 'doc.md')
    assert [(b.line, b.lang, b.id) for b in blocks] == [
        (4, 'bash', 'demo-train'),
        (11, 'bash', None),
        (16, 'python', 'demo-train'),
        (21, 'text', None),
    ]
    assert blocks[3].marker == 'Bad_Id' and blocks[2].text == 'x = 1  # not a command'
    assert marker_problems(blocks) == [
        'doc.md:11: ```bash block without a <!-- doc-command: ID --> marker on the line above',
        "doc.md:16: doc-command id 'demo-train' already used at doc.md:4",
        "doc.md:21: doc-command id 'Bad_Id' is not of the form [a-z0-9][a-z0-9-]*",
    ]


def test_commands_join_continuations_and_drop_comments():
    (block,) = [b for b in parse_blocks(DOC, 'doc.md') if b.line == 4]
    assert block.commands() == [
        ['OMP_NUM_THREADS=1', 'python', 'tools/train.py', 'CONFIG', '--work-dir', 'DIR'],
        ['python', 'tools/test.py', 'CONFIG', 'CKPT', '--grid', 'a=1,2'],
    ]
    assert split_env(block.commands()[0]) == (
        {'OMP_NUM_THREADS': '1'},
        ['python', 'tools/train.py', 'CONFIG', '--work-dir', 'DIR'],
    )
    assert split_commands('$ python a.py "x y"\n\n# only\n') == [['python', 'a.py', 'x y']]
