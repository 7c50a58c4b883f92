"""The dataset check finds every planted problem in one run, and nothing on clean data."""

import os.path as osp
import shutil

import pytest
from mmengine.config import Config

import mmkem  # noqa: F401  (registers the modules)
from mmkem.analysis.check_dataset import check_config
from mmkem.engine import fill_task_config
from mmkem.testing import plant_problems, write_libmtl_nyuv2, write_pascal_mt, write_tiny_nyud

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'configs', 'demo', 'kem_effnet-lite0_nyud-demo.py')

#: one of each problem, as each release can hold it.
PLANTED = {
    'png': ['normals_grey', 'normals_all_black'],
    'jpg': ['normals_not_unit', 'normals_all_black'],
}
COMMON = [
    'remove',
    'truncate',
    'truncate_image',
    'size_mismatch',
    'label_out_of_range',
    'depth_nan',
    'depth_negative',
    'depth_millimetres',
    'not_binary',
]


def config(path, root, tasks):
    cfg = Config.fromfile(path)
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = str(root)
    cfg.tasks = list(tasks)
    return fill_task_config(cfg)


@pytest.fixture(scope='module')
def clean(tmp_path_factory):
    roots = {}
    for release in ('png', 'jpg'):
        roots[release] = tmp_path_factory.mktemp(f'check_{release}')
        write_tiny_nyud(str(roots[release]), release, 12, 2, (24, 32), seed=3, num_real=1)
    return roots


@pytest.mark.parametrize('release', ['png', 'jpg'])
def test_every_planted_problem_in_one_run(clean, tmp_path, release):
    root = tmp_path / 'nyud'
    shutil.copytree(clean[release], root)
    planted = plant_problems(str(root), COMMON + PLANTED[release])
    cfg = config(DEMO, root, ('semseg', 'depth', 'normals', 'edge'))
    report = check_config(cfg, ('train', 'val'), workers=2, progress=True)
    assert not report.ok and report.samples == {'train': 12, 'val': 2}
    assert len(report.problems) == len(planted)  # nothing else, nothing twice
    for how, path, problem in planted:
        (found,) = [p for p in report.problems if path in p.message]
        assert found.problem == problem, how
        assert found.split == 'train' and found.line().startswith(f'[{problem}] ')
        if how != 'remove':
            assert found.path == path
    summary = report.summary()
    assert summary.startswith(
        f'dataset check: 14 samples (train 12, val 2), {len(planted)} problem(s) in '
        f'{len(planted)} file(s):'
    )
    assert '  depth not finite or negative: 2' in summary and '  unreadable file: 2' in summary


def test_clean_data_has_no_problems(clean):
    cfg = config(DEMO, clean['png'], ('semseg', 'depth', 'normals', 'edge'))
    report = check_config(cfg, workers=0, progress=False)
    assert report.ok and report.problems == []
    assert report.summary() == 'dataset check: 14 samples (train 12, val 2), no problems'


def test_uses_the_configs_decode_options(clean, tmp_path):
    """A millimetre release read with rescale_factor=0.001 is clean."""
    root = tmp_path / 'mm'
    shutil.copytree(clean['png'], root)
    ((_, path, _),) = plant_problems(str(root), ['depth_millimetres'])
    cfg = config(DEMO, root, ('semseg', 'depth'))
    assert [p.path for p in check_config(cfg, ['train'], progress=False).problems] == [path]
    load = dict(
        type='LoadMultiTaskAnnotations', decode_options=dict(depth=dict(rescale_factor=1e-3))
    )
    cfg.train_dataloader.dataset.pipeline[1] = load
    assert check_config(cfg, ['train'], progress=False).ok


def test_other_layouts_clean(tmp_path):
    """PASCAL-Context's soft distilled saliency need not be binary; LibMTL's arrays pass."""
    write_pascal_mt(str(tmp_path / 'pascal'), ['a1p', 'a2n', 'a3'], ['b1'], size=(40, 48))
    tasks = ('semseg', 'human_parts', 'sal', 'normals', 'edge')
    cfg = config(osp.join(REPO, 'configs', 'kem_swin_pascal.py'), tmp_path / 'pascal', tasks)
    assert check_config(cfg, progress=False).ok
    write_libmtl_nyuv2(str(tmp_path / 'libmtl'))
    path = osp.join(REPO, 'configs', 'rep_mtl', 'hps_r50-d8_20k_nyuv2-libmtl-288x384.py')
    report = check_config(config(path, tmp_path / 'libmtl', ('semseg', 'depth', 'normals')))
    assert report.ok and report.samples == {'train': 3, 'val': 2}


def test_config_errors(clean):
    cfg = config(DEMO, clean['png'], ('semseg', 'depth'))
    with pytest.raises(
        KeyError, match=r"no tests_dataloader.dataset; splits: \['test', 'train', 'val'\]"
    ):
        check_config(cfg, ['tests'])
    cfg.train_dataloader.dataset.pipeline = [dict(type='PackMultiTaskInputs')]
    with pytest.raises(ValueError, match='does not start with loading transforms'):
        check_config(cfg, ['train'])
