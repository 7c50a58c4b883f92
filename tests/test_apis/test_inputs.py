"""The inferencer's inputs: a config by file or by name, the images of a folder."""

import os.path as osp

import pytest
from mmengine.config import Config

from mmkem.apis.inputs import list_images, resolve_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_resolve_config_by_file_name_or_object(tmp_path):
    configs = osp.join(REPO, 'configs')
    by_name = resolve_config('kem_effnet-lite0_nyud-demo', [configs])
    assert by_name.tasks == ['semseg', 'depth', 'normals']
    by_file = resolve_config(osp.join(configs, 'demo', 'kem_effnet-lite0_nyud-demo.py'))
    assert by_file.filename == by_name.filename
    copied = resolve_config(by_name)
    copied.tasks.append('edge')
    assert by_name.tasks == ['semseg', 'depth', 'normals']
    assert isinstance(resolve_config(dict(model=dict(type='X'))), Config)
    for folder in ('a', 'b'):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / 'twice.py').write_text('x = 1\n')
    with pytest.raises(ValueError, match="'twice' matches several configs"):
        resolve_config('twice', [str(tmp_path)])
    with pytest.raises(FileNotFoundError, match="config 'nothing.py' is neither a file"):
        resolve_config('nothing.py', [str(tmp_path)])


def test_list_images_sorted_and_only_images(tmp_path):
    for name in ('b.png', 'a.JPG', 'notes.txt', 'c.npy'):
        (tmp_path / name).write_bytes(b'')
    (tmp_path / 'sub.png').mkdir()
    assert [osp.basename(p) for p in list_images(str(tmp_path))] == ['a.JPG', 'b.png', 'c.npy']
