"""An untrained model's checkpoint in mmengine's format, for tests of the tools that load one."""

from typing import Optional

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

__all__ = ['save_model_checkpoint']


def save_model_checkpoint(
    config: str, out_file: str, cfg_options: Optional[dict] = None, seed: int = 0
) -> str:
    """Build the model of ``config`` (seeded) and save it as a checkpoint ``out_file``.

    The checkpoint holds what mmengine's runner saves and the tools read: ``state_dict``,
    ``meta.dataset_meta`` (the test dataset's ``METAINFO``: class names, palette) and
    ``meta.cfg`` (the config's text).

    Args:
        config (str): Config file.
        out_file (str): Checkpoint path.
        cfg_options (dict, optional): Config overrides, merged first. Defaults to None.
        seed (int): Seed of the weights' initialisation. Defaults to 0.

    Returns:
        str: ``out_file``.
    """
    from mmkem.engine import fill_task_config

    init_default_scope('mmseg')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg = fill_task_config(cfg)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    dataset_cls = DATASETS.get(cfg.test_dataloader.dataset.type)
    meta = dict(dataset_meta=dict(getattr(dataset_cls, 'METAINFO', {})), cfg=cfg.pretty_text)
    torch.save(dict(state_dict=model.state_dict(), meta=meta), out_file)
    return out_file
