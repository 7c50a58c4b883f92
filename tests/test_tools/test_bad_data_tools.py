"""Bad data on the command line: tools/analysis/check_dataset.py, tools/train.py --check-data,
--skip-bad-samples, a bad file met in a DataLoader worker, --amp without a GPU and missing
pretrained weights. Each runs in a fresh interpreter, outside the repository, as a user would."""

import os.path as osp
import shutil
import sys

import pytest

from mmkem.testing import plant_problems, run_command, tiny_train_config, write_tiny_nyud

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(REPO, 'configs', 'demo', 'kem_effnet-lite0_nyud-demo.py')
TRAIN = osp.join(REPO, 'tools', 'train.py')
CHECK = osp.join(REPO, 'tools', 'analysis', 'check_dataset.py')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """A clean and a bad copy of a 4 + 2 sample dataset (two bad train samples), and a config that
    trains 3 iterations on each with one DataLoader worker."""
    root = tmp_path_factory.mktemp('bad_data')
    clean = str(root / 'clean')
    write_tiny_nyud(clean, num_train=4, num_val=2, size=(48, 64), seed=0, num_real=1)
    bad = str(root / 'bad')
    shutil.copytree(clean, bad)
    planted = plant_problems(bad, ['depth_millimetres', 'normals_grey'])
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadMultiTaskAnnotations'),
        dict(type='MultiTaskRandomCrop', crop_size=(32, 48)),
        dict(type='PackMultiTaskInputs'),
    ]
    hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=3, max_keep_ckpts=1))
    configs = {}
    for name, data_root in (('clean', clean), ('bad', bad)):
        configs[name] = str(root / f'{name}.py')
        text = tiny_train_config(
            DEMO_CONFIG,
            data_root,
            3,
            pipeline,
            hooks,
            extra="train_dataloader['num_workers'] = 1\n",
        )
        with open(configs[name], 'w') as f:
            f.write(text)
    return root, configs, planted


def test_check_tool_finds_the_problems_and_passes_clean_data(setup):
    root, configs, planted = setup
    res = run_command([sys.executable, CHECK, configs['bad'], '--workers', '2'], cwd=str(root))
    assert res.returncode == 1, res.stderr[-3000:]
    lines = res.stdout.splitlines()
    for _, path, problem in planted:
        assert any(line.startswith(f'[{problem}] {path}: ') for line in lines), res.stdout
    assert 'dataset check: 6 samples (train 4, val 2), 2 problem(s) in 2 file(s):' in res.stdout
    assert '  depth implausible: 1' in lines and '  normals not RGB: 1' in lines
    assert 'Traceback' not in res.stderr

    res = run_command([sys.executable, CHECK, configs['clean'], '--split', 'val'], cwd=str(root))
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip() == 'dataset check: 2 samples (val 2), no problems'


def test_train_check_data_stops_before_training(setup):
    root, configs, planted = setup
    cmd = [
        sys.executable,
        TRAIN,
        configs['bad'],
        '--work-dir',
        str(root / 'w_check'),
        '--check-data',
    ]
    res = run_command(cmd, cwd=str(root))
    assert res.returncode == 1
    for _, path, problem in planted:
        assert f'[{problem}] {path}: ' in res.stderr
    assert 'error: dataset check: 6 samples (train 4, val 2), 2 problem(s)' in res.stderr
    assert '--skip-bad-samples' in res.stderr
    assert 'Iter(train)' not in res.stdout + res.stderr and 'Traceback' not in res.stderr


def test_a_bad_file_in_a_worker_is_one_message(setup):
    """The first bad sample drawn stops the run with its message, not a worker traceback."""
    root, configs, planted = setup
    cmd = [sys.executable, TRAIN, configs['bad'], '--work-dir', str(root / 'w_worker')]
    res = run_command(cmd, cwd=str(root))
    assert res.returncode == 1
    error = res.stderr[res.stderr.index('\nerror: ') :]
    assert any(f'error: {path}: ' in error for _, path, _ in planted), error
    assert 'Traceback' not in res.stderr and 'DataLoader worker' not in res.stderr
    assert 'set MMKEM_DEBUG=1' in error


def test_skip_bad_samples_trains_and_lists_them(setup):
    root, configs, planted = setup
    work_dir = root / 'w_skip'
    cmd = [sys.executable, TRAIN, configs['bad'], '--work-dir', str(work_dir), '--skip-bad-samples']
    res = run_command(cmd, cwd=str(root))
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-3000:]
    assert 'Iter(train) [3/3]' in log and osp.isfile(work_dir / 'iter_3.pth')
    # 4 train samples, InfiniteSampler: the first 2 batches draw each sample once
    listed = (work_dir / 'skipped_samples.txt').read_text().splitlines()
    assert listed[0].startswith('# run ') and len(listed) == 3
    for (_, path, problem), line in zip(planted, listed[1:]):
        sample_id = osp.splitext(osp.basename(path))[0]
        assert line.startswith(f'{sample_id}\t') and f'\t{problem}\t{path}: ' in line
        assert f'skipped bad sample {sample_id}' in log
    assert 'skipped 2 bad sample(s) during training' in log
    assert f'listed in {work_dir / "skipped_samples.txt"}' in log


def test_amp_without_a_gpu_is_one_message(setup):
    root, configs, _ = setup
    cmd = [sys.executable, TRAIN, configs['clean'], '--work-dir', str(root / 'w_amp'), '--amp']
    res = run_command(cmd, cwd=str(root), env_extra=dict(CUDA_VISIBLE_DEVICES=''))
    assert res.returncode == 1
    assert 'error: --amp needs a GPU' in res.stderr and 'Traceback' not in res.stderr


def test_missing_backbone_weights_say_which_and_what_to_do(setup):
    root, _, _ = setup
    data = str(root / 'clean')
    options = [f'{s}_dataloader.dataset.data_root={data}' for s in ('train', 'val', 'test')]
    options += [
        f'{s}_dataloader.{k}'
        for s in ('train', 'val')
        for k in ('num_workers=0', 'persistent_workers=False')
    ]
    cmd = [sys.executable, TRAIN, osp.join(REPO, 'configs', 'kem_swin_nyud.py')]
    cmd += ['--work-dir', str(root / 'w_swin'), '--cfg-options'] + options
    res = run_command(cmd, cwd=str(root))
    assert res.returncode == 1
    weights = 'checkpoints/swin_tiny_patch4_window7_224_mmseg.pth'
    assert f"error: the pretrained weights '{weights}' of model.backbone.init_cfg" in res.stderr
    assert (
        'python tools/model_converters/swin2mmseg.py swin_tiny_patch4_window7_224.pth' in res.stderr
    )
    assert '--cfg-options model.backbone.init_cfg=None' in res.stderr
    assert 'Traceback' not in res.stderr and 'can not be found' not in res.stderr
