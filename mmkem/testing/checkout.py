"""A scratch directory laid out like a user's checkout, where shipped configs and documented
commands run as written: the code linked in, tiny datasets where the configs look for them, and
the pretrained files they would read or download already in place (random weights)."""

import glob
import os
import os.path as osp
from typing import Dict, List

from .datasets import write_ade20k, write_libmtl_nyuv2, write_pascal_mt, write_tiny_nyud

__all__ = ['SWIN_WEIGHTS', 'pretrained_urls', 'write_checkout']

LINKED = ('tools', 'configs', 'mmkem')
SWIN_WEIGHTS = 'checkpoints/swin_tiny_patch4_window7_224_mmseg.pth'


def _write_data(data: str) -> None:
    write_tiny_nyud(osp.join(data, 'nyud_demo'), num_train=4, num_val=2, size=(48, 64), seed=0)
    write_tiny_nyud(osp.join(data, 'NYUDv2'), num_train=4, num_val=2, size=(48, 64), seed=1)
    write_pascal_mt(osp.join(data, 'PASCAL_MT'), ['2008_000001p', '2008_000002n'], ['2008_000003p'])
    write_ade20k(osp.join(data, 'ade', 'ADEChallengeData2016'), num_train=2, num_val=1)
    write_libmtl_nyuv2(osp.join(data, 'nyuv2_libmtl'), num_train=2, num_val=1)


def pretrained_urls(repo: str) -> List[str]:
    """The URLs of the pretrained weights the shipped configs would download (mmseg's
    ``pretrained='open-mmlab://...'`` and ``init_cfg`` checkpoints on the web)."""
    from mmengine.config import Config
    from mmengine.runner.checkpoint import get_external_models

    models = get_external_models()
    urls = set()
    configs = glob.glob(osp.join(repo, 'configs', '**', '*.py'), recursive=True)
    for path in sorted(p for p in configs if '_base_' not in p):
        model = Config.fromfile(path).get('model', {})
        backbone = model.get('backbone') or {}
        init_cfg = backbone.get('init_cfg') or {}
        for source in (model.get('pretrained'), init_cfg.get('checkpoint')):
            if not isinstance(source, str):
                continue
            if source.startswith('open-mmlab://'):
                source = models[source[len('open-mmlab://') :]]
            if source.startswith(('http://', 'https://')):
                urls.add(source)
    return sorted(urls)


def write_checkout(root: str, repo: str, swin_weights: bool = True) -> Dict[str, str]:
    """Write the scratch checkout under ``root``.

    ``tools``, ``configs`` and ``mmkem`` link to ``repo``; ``data/`` holds tiny datasets in the
    release layouts at the configs' data roots (``nyud_demo``, ``NYUDv2``, ``PASCAL_MT``,
    ``ade/ADEChallengeData2016``, ``nyuv2_libmtl``); ``torch_home/hub/checkpoints/`` holds a file
    (no weights of the model: it keeps its initialisation, mmengine warns) for every URL the
    configs would download, so that ``TORCH_HOME=root/torch_home`` downloads nothing; with
    ``swin_weights``, ``checkpoints/`` holds converted random Swin-T weights where the Swin configs
    read them (without: the documented converter command writes them).

    Args:
        root (str): An empty directory.
        repo (str): The checkout under test.
        swin_weights (bool): Write the converted Swin-T weights. Defaults to True.

    Returns:
        dict[str, str]: The environment the commands need (``TORCH_HOME``).
    """
    import torch

    for name in LINKED:
        os.symlink(osp.join(repo, name), osp.join(root, name))
    _write_data(osp.join(root, 'data'))
    os.makedirs(osp.join(root, 'checkpoints'), exist_ok=True)
    hub = osp.join(root, 'torch_home', 'hub', 'checkpoints')
    os.makedirs(hub, exist_ok=True)
    for url in pretrained_urls(repo):
        # one tensor no model has (mmseg's Swin reads the first key): the model keeps its
        # initialisation and mmengine warns about the unexpected key
        placeholder = {'state_dict': {'placeholder_not_a_weight': torch.zeros(1)}}
        torch.save(placeholder, osp.join(hub, url.split('/')[-1].split('?')[0]))
    if swin_weights:
        import timm

        from mmkem.utils.converters.swin import convert_swin_to_mmseg

        torch.manual_seed(0)
        state_dict = timm.create_model('swin_tiny_patch4_window7_224').state_dict()
        torch.save({'state_dict': convert_swin_to_mmseg(state_dict)}, osp.join(root, SWIN_WEIGHTS))
    return dict(TORCH_HOME=osp.join(root, 'torch_home'))
