"""The GPU check: mmkem's stack set up offline on a CUDA machine, every CUDA check, one table.

Two steps, on two machines (standard library only: it runs before anything is installed):

    python tools/gpu_check.py prepare            # here (mmkem's env), with the package index
    bash tools/gpu_check.sh [OUT_DIR]            # there (= python3 tools/gpu_check.py run)

``prepare`` downloads into ``.gpu_check/`` (git-ignored; carry it with the working tree) the
wheels a bare CUDA machine with PyTorch, timm and onnxruntime lacks for Python 3.12 (mmengine,
mmsegmentation, their pure-Python requirements, OpenCV headless, pytest, ninja, setuptools < 81)
and mmcv's source, writes ``manifest.json`` and checks that the bundle and the working tree fit
the size budget (64 MiB).

``run`` (at most 8 minutes, each step with its own time limit and all of them with one deadline):
a virtual environment with ``--system-site-packages`` (the machine's torch, whatever its version),
the bundle's wheels for what is missing, ``scipy`` stand-ins where scipy is missing (mmseg imports
four scipy names at start-up; mmkem's CUDA checks call none of them), mmcv 2.1.0 built from
source with its CPU ops and the GPU hidden from its setup (``CUDA_VISIBLE_DEVICES=``,
``MMCV_WITH_OPS=1``, ``FORCE_CUDA=0``: mmkem calls no mmcv CUDA op, and mmcv's CUDA kernels need
not build against the machine's CUDA), then the tests marked ``cuda``, the neck benchmark and
``model_cost`` on CUDA at small sizes. It writes ``gpu_check.md`` and ``gpu_check.json`` (one row
per step and per test) and the tools' own outputs to the output folder (``$OUT`` if set, else
``work_dirs/gpu_check``). ``--dry-run`` prints the commands without running them.
"""

import argparse
import json
import os
import os.path as osp
import platform
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BUNDLE = osp.join(REPO, '.gpu_check')
BUDGET_MIB = 64
DEADLINE_S = 470  # 8 minutes less a margin for writing the table
PYTHON_TAG = '3.12'
MMCV = 'mmcv==2.1.0'

# The test files with tests marked ``cuda`` (tests/test_tools/test_gpu_check.py keeps this true).
CUDA_TEST_FILES = [
    'tests/test_engine/test_hooks/test_rng_state_hook.py',
    'tests/test_models/test_layers/test_kem_memory_cuda.py',
    'tests/test_models/test_regularizers/test_rep_mtl.py',
    'tests/test_tools/test_train_cuda.py',
]

# (requirement, the module it provides): what a machine with torch, timm and onnxruntime lacks.
WHEELS = [
    ('mmengine==0.10.7', 'mmengine'),
    ('mmsegmentation==1.2.2', 'mmseg'),
    ('addict==2.4.0', 'addict'),
    ('yapf==0.40.1', 'yapf'),  # 0.40.2 dropped the `verify` argument mmengine passes
    ('platformdirs', 'platformdirs'),
    ('tomli', 'tomli'),
    ('importlib-metadata', 'importlib_metadata'),
    ('zipp', 'zipp'),
    ('termcolor', 'termcolor'),
    ('rich', 'rich'),
    ('markdown-it-py', 'markdown_it'),
    ('mdurl', 'mdurl'),
    ('pygments', 'pygments'),
    ('prettytable', 'prettytable'),
    ('wcwidth', 'wcwidth'),
    ('ftfy', 'ftfy'),
    ('regex', 'regex'),
    ('opencv-python-headless==4.11.0.86', 'cv2'),  # numpy 2; 48 MB, the bulk of the bundle
    ('pytest', 'pytest'),
    ('pluggy', 'pluggy'),
    ('iniconfig', 'iniconfig'),
    ('packaging', 'packaging'),
    ('ninja', 'ninja'),  # parallel compilation of mmcv's ops
    ('setuptools>=77.0.3,<81', 'setuptools'),  # mmcv's setup imports pkg_resources (gone in 81)
    ('wheel', 'wheel'),
]

# mmseg imports these scipy names at start-up (Mask2Former's assigner, BEiT's position
# interpolation, the Hausdorff loss, the random-blur transform); stand-ins that raise when
# called, where scipy is missing.
SCIPY_STUBS = {
    '__init__.py': '"""Stand-in written by tools/gpu_check.py: scipy is not in the bundle."""\n',
    'optimize.py': 'def linear_sum_assignment(*args, **kwargs):\n'
    "    raise NotImplementedError('scipy is not installed (tools/gpu_check.py stand-in)')\n",
    'interpolate.py': '',
    'ndimage.py': 'def distance_transform_edt(*args, **kwargs):\n'
    "    raise NotImplementedError('scipy is not installed (tools/gpu_check.py stand-in)')\n"
    '\n\n'
    'def gaussian_filter(*args, **kwargs):\n'
    "    raise NotImplementedError('scipy is not installed (tools/gpu_check.py stand-in)')\n",
}


# --------------------------------------------------------------------------------- prepare
def download_commands(bundle, python=sys.executable, find_links=None, only=None):
    """The ``pip download`` command lines of the bundle: wheels for CPython 3.12 on x86_64 Linux
    (pure-Python or manylinux), and mmcv's source distribution."""
    index = ['--no-index', '--find-links', find_links] if find_links else []
    pip = [python, '-m', 'pip', 'download', '--no-deps', '--disable-pip-version-check', *index]
    platforms = []
    for tag in ('manylinux2014_x86_64', 'manylinux_2_17_x86_64', 'manylinux_2_28_x86_64', 'any'):
        platforms += ['--platform', tag]
    wheel_args = ['--only-binary=:all:', '--python-version', PYTHON_TAG, '--implementation', 'cp']
    wanted = [req for req, _ in WHEELS if only is None or req in only]
    commands = []
    if wanted:
        commands.append(pip + wheel_args + platforms + ['-d', osp.join(bundle, 'wheels')] + wanted)
    if only is None or MMCV in only:
        # pip reads an sdist's metadata by running its setup, which imports torch: without build
        # isolation, in this interpreter (prepare runs in mmkem's environment)
        sdist = ['--no-binary=:all:', '--no-build-isolation', '-d', osp.join(bundle, 'src'), MMCV]
        commands.append(pip + sdist)
    return commands


def tree_bytes(repo=REPO):
    """Bytes of the files that travel with the working tree without being carried (tracked and
    untracked files git does not ignore)."""
    out = subprocess.run(
        ['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sum(
        osp.getsize(osp.join(repo, f))
        for f in out.split('\0')
        if f and osp.isfile(osp.join(repo, f))
    )


def check_bundle(bundle, extra_bytes, budget_mib=BUDGET_MIB):
    """Write ``manifest.json`` (every file and its size) and check the size budget.

    Args:
        bundle (str): The bundle folder.
        extra_bytes (int): What travels besides it (the working tree).
        budget_mib (float): The limit of both together.

    Returns:
        dict: The manifest.

    Raises:
        SystemExit: Bundle and tree exceed the budget (the message names the largest files).
    """
    files = {}
    for sub in ('wheels', 'src'):
        folder = osp.join(bundle, sub)
        for name in sorted(os.listdir(folder)) if osp.isdir(folder) else []:
            files[f'{sub}/{name}'] = osp.getsize(osp.join(folder, name))
    total = sum(files.values()) + extra_bytes
    manifest = dict(
        python=PYTHON_TAG,
        files=files,
        bundle_mib=round(sum(files.values()) / 2**20, 2),
        tree_mib=round(extra_bytes / 2**20, 2),
        total_mib=round(total / 2**20, 2),
        budget_mib=budget_mib,
    )
    with open(osp.join(bundle, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
    if total > budget_mib * 2**20:
        raise SystemExit(
            f'gpu_check prepare: the bundle ({manifest["bundle_mib"]} MiB) and the working tree '
            f'({manifest["tree_mib"]} MiB) come to {manifest["total_mib"]} MiB, over the '
            f'{budget_mib} MiB that travel to the GPU machine; the largest files: '
            + ', '.join(
                f'{k} ({v / 2**20:.1f} MiB)'
                for k, v in sorted(files.items(), key=lambda kv: -kv[1])[:3]
            )
        )
    return manifest


def prepare(args):
    if not args.keep:
        shutil.rmtree(args.bundle, ignore_errors=True)
    for sub in ('wheels', 'src'):
        os.makedirs(osp.join(args.bundle, sub), exist_ok=True)
    for cmd in download_commands(args.bundle, find_links=args.find_links, only=args.only):
        print('+ ' + ' '.join(cmd), flush=True)
        if not args.dry_run:
            subprocess.run(cmd, check=True)
    if args.dry_run:
        return
    manifest = check_bundle(args.bundle, tree_bytes(), args.budget_mib)
    print(
        f'bundle {manifest["bundle_mib"]} MiB + tree {manifest["tree_mib"]} MiB = '
        f'{manifest["total_mib"]} MiB (budget {manifest["budget_mib"]} MiB): '
        f'{osp.relpath(args.bundle, REPO)}/ is ready; carry it with the working tree'
    )


# --------------------------------------------------------------------------------- run
def venv_python(venv):
    return osp.join(venv, 'bin', 'python')


def install_commands(venv, bundle, missing, have_mmcv_ops, torch_version, jobs):
    """The set-up command lines on the GPU machine, as ``(name, env, argv)``.

    Args:
        venv (str): The virtual environment (created with ``--system-site-packages``).
        bundle (str): The bundle folder.
        missing (list[str]): Requirements of :data:`WHEELS` whose module the machine lacks.
        have_mmcv_ops (bool): ``mmcv.ops`` already loads.
        torch_version (str): The machine's torch (names the folder of the built mmcv wheel).
        jobs (int): Parallel compile jobs.
    """
    py = venv_python(venv)
    pip = [py, '-m', 'pip', 'install', '--disable-pip-version-check', '--no-index', '--no-deps']
    commands = []
    if not osp.exists(py):
        venv_cmd = [sys.executable, '-m', 'venv', '--system-site-packages', venv]
        commands.append(("venv (system site packages: the machine's torch)", {}, venv_cmd))
    if missing:
        wheels = pip + ['--find-links', osp.join(bundle, 'wheels'), *missing]
        commands.append(('install bundle wheels', {}, wheels))
    if not have_mmcv_ops:
        built = osp.join(bundle, 'built', f'torch-{torch_version}')
        sdist = osp.join(bundle, 'src', 'mmcv-2.1.0.tar.gz')
        env = dict(CUDA_VISIBLE_DEVICES='', MMCV_WITH_OPS='1', FORCE_CUDA='0', MAX_JOBS=str(jobs))
        build = [py, '-m', 'pip', 'wheel', '--disable-pip-version-check', '--no-index',
                 '--no-deps', '--no-build-isolation', '--no-cache-dir',
                 '-w', built, sdist]  # fmt: skip
        have_wheel = osp.isdir(built) and any(f.endswith('.whl') for f in os.listdir(built))
        if not have_wheel:  # a rerun on the same machine reuses the wheel built for its torch
            commands.append(('build mmcv 2.1.0 CPU ops (GPU hidden)', env, build))
        commands.append(('install mmcv', {}, pip + ['--find-links', built, 'mmcv==2.1.0']))
    return commands


def check_commands(py, out):
    """The checks, as ``(name, argv, timeout_s)``: the CUDA tests (:data:`CUDA_TEST_FILES`, by
    name: collecting the whole suite would import what the bundle leaves out, e.g. onnx), the
    neck benchmark and model_cost on CUDA."""
    tool = lambda *p: osp.join(REPO, 'tools', *p)  # noqa: E731
    pytest_cmd = [
        py,
        '-m',
        'pytest',
        '-m',
        'cuda',
        '-q',
        '-rs',
        '-p',
        'no:cacheprovider',
        '--junitxml',
        osp.join(out, 'cuda_tests.xml'),
        *CUDA_TEST_FILES,
    ]
    necks = [
        py,
        tool('analysis', 'benchmark_necks.py'),
        '--device',
        'cuda',
        '--dims',
        '768',
        '--batch',
        '2',
        '--ns',
        '4096',
        '16384',
        '65536',
        '--modules',
        'copy',
        'kem',
        'skem_task_axis',
        'cross_attention',
        '--baseline-max-ns',
        '65536',
        '--repeats',
        '5',
        '--out',
        osp.join(out, 'benchmark_necks'),
    ]
    cost = [
        py,
        tool('analysis', 'model_cost.py'),
        '--device',
        'cuda',
        '--size',
        '224',
        '288',
        '--steps',
        '3',
        '--out',
        osp.join(out, 'model_cost'),
    ]
    return [('cuda tests', pytest_cmd, 260), ('neck benchmark (cuda)', necks, 90),
            ('model_cost (cuda)', cost, 120)]  # fmt: skip


def _probe(py, code, env=None):
    env = dict(os.environ, **(env or {}))
    r = subprocess.run([py, '-c', code], capture_output=True, text=True, env=env, cwd='/')
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def machine_facts(py):
    ok, text = _probe(
        py,
        'import json, sys, torch\n'
        'cuda = torch.cuda.is_available()\n'
        'print(json.dumps(dict(python=sys.version.split()[0], torch=torch.__version__,\n'
        '    cuda=torch.version.cuda, gpus=torch.cuda.device_count() if cuda else 0,\n'
        '    device=torch.cuda.get_device_name(0) if cuda else None)))',
    )
    facts = json.loads(text.splitlines()[-1]) if ok else dict(error=text[-500:])
    facts.update(host=platform.node(), cpus=os.cpu_count(), compiler=shutil.which('c++'))
    return facts


def missing_requirements(py):
    """Requirements of :data:`WHEELS` whose module ``py`` cannot find."""
    code = (
        'import importlib.util, sys\n'
        'for m in sys.argv[1:]:\n'
        '    print(m, importlib.util.find_spec(m) is not None)'
    )
    r = subprocess.run([py, '-c', code, *[m for _, m in WHEELS]], capture_output=True, text=True)
    found = dict(line.split() for line in r.stdout.splitlines())
    return [req for req, mod in WHEELS if found.get(mod) != 'True']


def write_scipy_stubs(venv, py):
    """Stand-ins for the four scipy names mmseg imports, in the venv, if scipy is missing."""
    ok, _ = _probe(py, 'import scipy.optimize, scipy.ndimage, scipy.interpolate')
    if ok:
        return False
    ok, site = _probe(py, 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    folder = osp.join(site.splitlines()[-1], 'scipy')
    os.makedirs(folder, exist_ok=True)
    for name, text in SCIPY_STUBS.items():
        with open(osp.join(folder, name), 'w') as f:
            f.write(text)
    return True


class Steps:
    """Runs the steps against one deadline and keeps a row per step."""

    def __init__(self, out, deadline_s, dry_run):
        self.out, self.dry_run, self.rows = out, dry_run, []
        self.end = time.monotonic() + deadline_s
        self.log = osp.join(out, 'gpu_check.log')

    def run(self, name, argv, timeout, env=None):
        left = self.end - time.monotonic()
        if self.dry_run:
            prefix = ' '.join(f'{k}={v}' for k, v in (env or {}).items())
            print(f'+ {prefix + " " if prefix else ""}{" ".join(argv)}')
            self.rows.append(dict(step=name, status='dry-run', seconds=0.0, detail=''))
            return True
        if left < 10:
            self.rows.append(dict(step=name, status='skipped', seconds=0.0, detail='out of time'))
            return False
        start = time.monotonic()
        full_env = dict(os.environ, PYTHONPATH=REPO, **(env or {}))
        try:
            r = subprocess.run(argv, capture_output=True, text=True, env=full_env, cwd=REPO,
                               timeout=min(timeout, left))  # fmt: skip
            status = 'ok' if r.returncode == 0 else f'failed (exit {r.returncode})'
            text = r.stdout + r.stderr
        except subprocess.TimeoutExpired as err:
            status = f'timed out ({min(timeout, left):.0f} s)'
            text = (
                (err.stdout or b'').decode(errors='replace')
                if isinstance(err.stdout, bytes)
                else (err.stdout or '')
            )
        with open(self.log, 'a') as f:
            f.write(f'\n===== {name}: {" ".join(argv)}\n{text}')
        tail = ' | '.join(line for line in text.strip().splitlines()[-3:])
        self.rows.append(dict(step=name, status=status, seconds=round(time.monotonic() - start, 1),
                              detail=tail[-300:] if status != 'ok' else ''))  # fmt: skip
        return status == 'ok'


def test_rows(junit_path):
    """One row per test of a pytest JUnit XML file: passed, failed or skipped (with the reason)."""
    if not osp.exists(junit_path):
        return []
    rows = []
    for case in ET.parse(junit_path).getroot().iter('testcase'):
        name = f'{case.get("classname", "")}::{case.get("name")}'.split('tests.', 1)[-1]
        status, detail = 'passed', ''
        for tag in ('failure', 'error', 'skipped'):
            node = case.find(tag)
            if node is not None:
                status = 'skipped' if tag == 'skipped' else 'failed'
                detail = (
                    (node.get('message') or '').splitlines()[0][:200] if node.get('message') else ''
                )
        rows.append(
            dict(test=name, status=status, seconds=float(case.get('time', 0)), detail=detail)
        )
    return rows


def write_table(out, facts, steps, tests):
    data = dict(date=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), machine=facts,
                steps=steps, tests=tests)  # fmt: skip
    necks = osp.join(out, 'benchmark_necks', 'results.json')
    if osp.exists(necks):
        with open(necks) as f:
            data['neck_benchmark'] = json.load(f).get('ratios')
    with open(osp.join(out, 'gpu_check.json'), 'w') as f:
        json.dump(data, f, indent=1)
    lines = [f'# GPU check, {data["date"]}', '',
             f'machine: {facts.get("device")} x{facts.get("gpus")}, torch {facts.get("torch")} '
             f'(CUDA {facts.get("cuda")}), Python {facts.get("python")}, {facts.get("cpus")} CPUs',
             '', '| step | status | s | detail |', '|---|---|---|---|']  # fmt: skip
    lines += [f'| {r["step"]} | {r["status"]} | {r["seconds"]} | {r["detail"]} |' for r in steps]
    if tests:
        lines += ['', '| test | status | s | detail |', '|---|---|---|---|']
        lines += [
            f'| {r["test"]} | {r["status"]} | {r["seconds"]:.1f} | {r["detail"]} |' for r in tests
        ]
    for row in data.get('neck_benchmark') or []:
        lines.append(f'- neck benchmark: {", ".join(f"{k}={v}" for k, v in row.items())}')
    with open(osp.join(out, 'gpu_check.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return '\n'.join(lines)


def run(args):
    out = osp.abspath(args.out or os.environ.get('OUT') or osp.join(REPO, 'work_dirs', 'gpu_check'))
    os.makedirs(out, exist_ok=True)
    venv = osp.join(args.bundle, 'venv')
    steps = Steps(out, args.deadline, args.dry_run)
    system_py = sys.executable
    facts = machine_facts(system_py)
    py = venv_python(venv)
    have_venv = osp.exists(py)
    probe_py = py if have_venv else system_py
    missing = [req for req, _ in WHEELS] if args.dry_run else missing_requirements(probe_py)
    ok_ops = False if args.dry_run else _probe(probe_py, 'from mmcv.ops import nms')[0]
    commands = install_commands(venv, args.bundle, missing, ok_ops, facts.get('torch', 'unknown'),
                                os.cpu_count() or 4)  # fmt: skip
    for name, env, argv in commands:
        if not steps.run(name, argv, 300, env) and not args.dry_run:
            break
    else:
        if not args.dry_run and write_scipy_stubs(venv, py):
            steps.rows.append(dict(step='scipy stand-ins', status='ok', seconds=0.0,
                                   detail='scipy missing: the 4 names mmseg imports'))  # fmt: skip
        if steps.run(
            'import mmkem', [py, '-c', 'import mmkem, mmcv.ops; print(mmkem.__file__)'], 60
        ):
            for name, argv, timeout in check_commands(py, out):
                steps.run(name, argv, timeout)
    tests = [] if args.dry_run else test_rows(osp.join(out, 'cuda_tests.xml'))
    if args.dry_run:
        return 0
    print(write_table(out, facts, steps.rows, tests))
    print(f'\nwrote {osp.join(out, "gpu_check.md")} and gpu_check.json')
    bad = [r for r in steps.rows if r['status'] not in ('ok', 'dry-run')]
    bad += [r for r in tests if r['status'] == 'failed']
    return 1 if bad else 0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    p = sub.add_parser('prepare', help='download the bundle (here, with the package index)')
    p.add_argument('--bundle', default=BUNDLE)
    p.add_argument('--budget-mib', type=float, default=BUDGET_MIB)
    p.add_argument('--find-links', default=None, help='take the files from this folder, offline')
    p.add_argument('--only', nargs='+', default=None, help='only these requirements (tests)')
    p.add_argument('--keep', action='store_true', help='keep what the bundle already holds')
    p.add_argument('--dry-run', action='store_true', help='print the commands only')
    r = sub.add_parser('run', help='set up and run the checks (on the GPU machine)')
    r.add_argument('--bundle', default=BUNDLE)
    r.add_argument(
        '--out', default=None, help='output folder (default: $OUT or work_dirs/gpu_check)'
    )
    r.add_argument('--deadline', type=float, default=DEADLINE_S, help='seconds for all steps')
    r.add_argument('--dry-run', action='store_true', help='print the commands only')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    args.bundle = osp.abspath(args.bundle)
    if args.command == 'prepare':
        prepare(args)
        return 0
    return run(args)


if __name__ == '__main__':
    sys.exit(main())
