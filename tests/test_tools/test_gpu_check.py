"""tools/gpu_check.py on a machine without CUDA: the bundle it prepares (offline, from a local
folder) and its size check, the set-up command lines it would run on the GPU machine (dry run),
the list of CUDA test files, and the table it writes from a test report."""

import glob
import importlib.util
import json
import os
import os.path as osp
import re
import subprocess
import sys
import zipfile

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO, 'tools', 'gpu_check.py')
DEMO = osp.join(REPO, 'configs', 'demo', 'kem_effnet-lite0_nyud-demo.py')


def _load():
    spec = importlib.util.spec_from_file_location('gpu_check', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gpu_check = _load()


def _tiny_wheel(folder, name, version):
    """A valid pure-Python wheel with nothing in it (what pip download copies)."""
    dist = f'{name}-{version}.dist-info'
    path = osp.join(folder, f'{name}-{version}-py3-none-any.whl')
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr(f'{dist}/METADATA', f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n')
        z.writestr(f'{dist}/WHEEL', 'Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n'
                   'Tag: py3-none-any\n')  # fmt: skip
        z.writestr(f'{dist}/RECORD', '')
    return path


def test_prepare_builds_the_bundle_and_checks_its_size(tmp_path):
    links = tmp_path / 'links'
    links.mkdir()
    _tiny_wheel(str(links), 'addict', '2.4.0')
    bundle = tmp_path / 'bundle'
    cmd = [sys.executable, SCRIPT, 'prepare', '--bundle', str(bundle), '--find-links', str(links),
           '--only', 'addict==2.4.0']  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert osp.exists(bundle / 'wheels' / 'addict-2.4.0-py3-none-any.whl')
    manifest = json.loads((bundle / 'manifest.json').read_text())
    assert list(manifest['files']) == ['wheels/addict-2.4.0-py3-none-any.whl']
    assert 0 < manifest['tree_mib'] <= manifest['total_mib'] <= manifest['budget_mib'] == 64
    assert 'carry it with the working tree' in result.stdout
    # over the budget: a clear stop naming the sizes and the largest file
    result = subprocess.run(cmd + ['--keep', '--budget-mib', '0.5'], capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode != 0
    assert 'over the 0.5 MiB that travel to the GPU machine' in result.stderr
    assert 'wheels/addict-2.4.0-py3-none-any.whl' in result.stderr


def test_download_commands_target_python_312_wheels_and_mmcv_source(tmp_path):
    wheels, sdist = gpu_check.download_commands(str(tmp_path), python='python')
    assert wheels[:6] == ['python', '-m', 'pip', 'download', '--no-deps',
                          '--disable-pip-version-check']  # fmt: skip
    assert (
        '--only-binary=:all:' in wheels and wheels[wheels.index('--python-version') + 1] == '3.12'
    )
    assert 'mmengine==0.10.7' in wheels and 'opencv-python-headless==4.11.0.86' in wheels
    assert sdist[-3:] == ['-d', osp.join(str(tmp_path), 'src'), 'mmcv==2.1.0']
    assert '--no-binary=:all:' in sdist


def test_check_bundle_counts_the_tree_too(tmp_path):
    (tmp_path / 'wheels').mkdir()
    (tmp_path / 'src').mkdir()
    (tmp_path / 'wheels' / 'a.whl').write_bytes(b'x' * 2**20)
    (tmp_path / 'src' / 'mmcv-2.1.0.tar.gz').write_bytes(b'x' * 2**19)
    manifest = gpu_check.check_bundle(str(tmp_path), extra_bytes=2**20, budget_mib=3)
    assert manifest['bundle_mib'] == 1.5 and manifest['total_mib'] == 2.5
    with pytest.raises(SystemExit, match=r'come to 2\.5 MiB, over the 2 MiB'):
        gpu_check.check_bundle(str(tmp_path), extra_bytes=2**20, budget_mib=2)


def test_install_commands_use_the_system_torch_and_hide_the_gpu_from_mmcv(tmp_path):
    venv, bundle = str(tmp_path / 'venv'), str(tmp_path / 'bundle')
    commands = gpu_check.install_commands(venv, bundle, ['rich', 'mmengine==0.10.7'], False,
                                          '2.11.0+cu130', 16)  # fmt: skip
    names = [name for name, _, _ in commands]
    assert names[0].startswith('venv') and commands[0][2][-2:] == ['--system-site-packages', venv]
    _, env, wheels = commands[1]
    assert env == {} and wheels[-2:] == ['rich', 'mmengine==0.10.7']
    assert {'--no-index', '--no-deps'} <= set(wheels)  # offline; torch is never touched
    _, env, build = commands[2]
    assert env == dict(CUDA_VISIBLE_DEVICES='', MMCV_WITH_OPS='1', FORCE_CUDA='0', MAX_JOBS='16')
    assert build[1:4] == ['-m', 'pip', 'wheel'] and '--no-build-isolation' in build
    assert build[-1] == osp.join(bundle, 'src', 'mmcv-2.1.0.tar.gz')
    assert osp.join(bundle, 'built', 'torch-2.11.0+cu130') in build
    assert commands[3][2][-1] == 'mmcv==2.1.0'
    # a rerun: the venv exists, nothing is missing and the built wheel is kept
    (tmp_path / 'venv' / 'bin').mkdir(parents=True)
    (tmp_path / 'venv' / 'bin' / 'python').write_text('')
    built = tmp_path / 'bundle' / 'built' / 'torch-2.11.0+cu130'
    built.mkdir(parents=True)
    (built / 'mmcv-2.1.0-cp312-cp312-linux_x86_64.whl').write_bytes(b'')
    commands = gpu_check.install_commands(venv, bundle, [], False, '2.11.0+cu130', 16)
    assert [name for name, _, _ in commands] == ['install mmcv']
    assert gpu_check.install_commands(venv, bundle, [], True, '2.11.0+cu130', 16) == []


def test_dry_run_prints_the_whole_check(tmp_path):
    result = subprocess.run(
        [sys.executable, SCRIPT, 'run', '--dry-run', '--bundle', str(tmp_path / 'b'),
         '--out', str(tmp_path / 'out')],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith(f'-m venv --system-site-packages {tmp_path / "b" / "venv"}')
    assert any(
        line.startswith('+ CUDA_VISIBLE_DEVICES= MMCV_WITH_OPS=1 FORCE_CUDA=0') for line in lines
    )
    assert any('-m pytest -m cuda' in line and 'test_train_cuda.py' in line for line in lines)
    assert any('benchmark_necks.py --device cuda' in line for line in lines)
    assert any('model_cost.py --device cuda' in line for line in lines)


def test_cuda_test_files_list_every_file_with_cuda_tests():
    marked = sorted(
        osp.relpath(p, REPO)
        for p in glob.glob(osp.join(REPO, 'tests', '**', 'test_*.py'), recursive=True)
        if re.search(
            r'^(@pytest\.mark\.cuda|pytestmark = pytest\.mark\.cuda)$', open(p).read(), re.M
        )
    )
    assert marked == sorted(gpu_check.CUDA_TEST_FILES)


def test_the_table_from_a_test_report(tmp_path):
    (tmp_path / 'cuda_tests.xml').write_text(
        '<testsuites><testsuite>'
        '<testcase classname="tests.test_a" name="test_ok" time="1.5"/>'
        '<testcase classname="tests.test_a" name="test_bad" time="0.1">'
        '<failure message="assert 1 == 2">trace</failure></testcase>'
        '<testcase classname="tests.test_b" name="test_ddp" time="0">'
        '<skipped message="2-process DDP with NCCL needs 2 CUDA devices"/></testcase>'
        '</testsuite></testsuites>'
    )
    tests = gpu_check.test_rows(str(tmp_path / 'cuda_tests.xml'))
    assert [(t['test'], t['status']) for t in tests] == [
        ('test_a::test_ok', 'passed'), ('test_a::test_bad', 'failed'),
        ('test_b::test_ddp', 'skipped'),
    ]  # fmt: skip
    assert tests[2]['detail'] == '2-process DDP with NCCL needs 2 CUDA devices'
    steps = [dict(step='cuda tests', status='failed (exit 1)', seconds=3.0, detail='1 failed')]
    facts = dict(
        device='NVIDIA H200', gpus=1, torch='2.11.0', cuda='13.0', python='3.12.3', cpus=16
    )
    text = gpu_check.write_table(str(tmp_path), facts, steps, tests)
    assert 'machine: NVIDIA H200 x1, torch 2.11.0 (CUDA 13.0)' in text
    assert '| test_a::test_bad | failed | 0.1 | assert 1 == 2 |' in text
    data = json.loads((tmp_path / 'gpu_check.json').read_text())
    assert data['steps'] == steps and len(data['tests']) == 3
    assert (tmp_path / 'gpu_check.md').read_text().strip() == text.strip()


def test_the_shell_entry_point_says_what_is_missing(tmp_path):
    script = osp.join(REPO, 'tools', 'gpu_check.sh')
    if osp.exists(osp.join(REPO, '.gpu_check', 'manifest.json')):
        pytest.skip('a bundle is present in this checkout')
    result = subprocess.run(['bash', script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and 'gpu_check.py prepare' in result.stderr


def test_mmkem_runs_with_the_scipy_stand_ins(tmp_path):
    """On the GPU machine scipy is only the check's stand-ins: mmkem must import, build and train
    a model that has an edge task (scipy is used only by the boundary benchmark and .mat files)."""
    gpu_check = _load()
    folder = tmp_path / 'scipy'
    folder.mkdir()
    for name, text in gpu_check.SCIPY_STUBS.items():
        (folder / name).write_text(text)
    code = (
        'import scipy, mmseg.models, mmkem\n'
        "assert 'Stand-in' in scipy.__doc__, scipy.__file__\n"
        'from mmengine.config import Config\n'
        'from mmkem.analysis.batches import synthetic_batch\n'
        'from mmkem.engine import fill_task_config\n'
        'from mmengine.registry import init_default_scope\n'
        'from mmseg.registry import MODELS\n'
        f'cfg = Config.fromfile({DEMO!r})\n'
        "cfg.tasks = ['semseg', 'edge']\n"
        'cfg = fill_task_config(cfg)\n'
        "init_default_scope('mmseg')\n"
        'model = MODELS.build(cfg.model)\n'
        'batch = model.data_preprocessor(synthetic_batch(model, 1, (32, 32)), True)\n'
        'losses = model.loss(**batch)\n'
        "print(sorted(k for k in losses if 'edge' in k))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), REPO]))
    out = subprocess.run(
        [sys.executable, '-c', code], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'loss_edge' in out.stdout
