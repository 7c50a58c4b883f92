"""Tiny datasets in the layout of both NYUD-v2 releases, built once per test session."""

import pytest
from mmengine.registry import init_default_scope

import mmkem  # noqa: F401  (registers the modules)
from mmkem.testing import write_tiny_nyud

TINY = dict(num_train=3, num_val=2, size=(32, 48), seed=0, num_real=2)


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


@pytest.fixture(scope='session', params=['png', 'jpg'])
def nyud_root(request, tmp_path_factory):
    """Root of a tiny dataset written with the ``png`` or the ``jpg`` release's conventions."""
    root = tmp_path_factory.mktemp(f'nyud_{request.param}')
    write_tiny_nyud(str(root), request.param, **TINY)
    return root
