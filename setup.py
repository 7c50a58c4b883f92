"""mmkem: multi-task dense prediction with KEM / sKEM for OpenMMLab (mmsegmentation 1.x)."""

import os.path as osp

from setuptools import find_packages, setup


def read_version():
    ns = {}
    with open(osp.join(osp.dirname(__file__), 'mmkem', 'version.py')) as f:
        exec(f.read(), ns)
    return ns['__version__']


def read_requirements(path):
    reqs = []
    with open(osp.join(osp.dirname(__file__), path)) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line and not line.startswith('-'):
                reqs.append(line)
    return reqs


setup(
    name='mmkem',
    version=read_version(),
    description='Multi-task dense prediction with the Knowledge Extraction Module (KEM, sKEM) '
    'and Rep-MTL, as an mmsegmentation plugin',
    long_description=open(osp.join(osp.dirname(__file__), 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
    include_package_data=True,
    python_requires='>=3.8',
    # torch, torchvision and mmcv are installed by tools/setup_env.sh (mmcv must be built against
    # the installed torch); they are not listed here so that pip never swaps the torch build.
    install_requires=read_requirements('requirements/runtime.txt'),
    extras_require={'tests': read_requirements('requirements/tests.txt')},
    license='Apache License 2.0',
    zip_safe=False,
)
