"""What a task kind does is written in the table of kinds only (mmkem/tasks/kinds.py)."""

import ast
import os.path as osp
from glob import glob

import mmkem

PACKAGE = osp.dirname(mmkem.__file__)
TABLE = [osp.join(PACKAGE, 'tasks'), osp.join(PACKAGE, 'structures', 'tasks.py')]
KIND_NAMES = {'segmentation', 'depth', 'normals', 'saliency', 'edge'}


def _is_kind(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == 'kind') or (
        isinstance(node, ast.Name) and node.id == 'kind'
    )


def _names_a_kind(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in KIND_NAMES
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_names_a_kind(e) for e in node.elts)
    return False


def kind_branches(source: str):
    """Lines that compare a ``kind`` with a kind's name (``spec.kind == 'depth'``)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left] + list(node.comparators)
            if any(_is_kind(o) for o in operands) and any(_names_a_kind(o) for o in operands):
                lines.append(node.lineno)
    return lines


def test_the_check_finds_a_branch():
    assert kind_branches("if spec.kind == 'depth':\n    pass\n") == [1]
    assert kind_branches("x = kind in ('edge', 'saliency')\n") == [1]
    assert kind_branches('x = spec.task_kind.scales_with_zoom\n') == []


def test_no_kind_branch_outside_the_table():
    found = []
    for path in sorted(glob(osp.join(PACKAGE, '**', '*.py'), recursive=True)):
        if any(path == t or path.startswith(t + osp.sep) for t in TABLE):
            continue
        with open(path) as f:
            found += [f'{osp.relpath(path, PACKAGE)}:{n}' for n in kind_branches(f.read())]
    assert found == [], f'kind branches outside mmkem/tasks/kinds.py: {found}'
