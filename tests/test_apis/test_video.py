"""Videos and folders of frames through the inferencer: a video per task, frames in order."""

import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest

import mmkem  # noqa: F401
from mmkem.apis import MultiTaskInferencer
from mmkem.apis.video import infer_inputs, is_video, write_video
from mmkem.testing import save_model_checkpoint

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(REPO, 'configs', 'demo', 'kem_effnet-lite0_nyud-demo.py')


def _frames(folder, count):
    folder.mkdir()
    for i in range(count):
        image = np.zeros((48, 64, 3), np.uint8)
        image[:, : 8 * (i + 1)] = (40 * i, 200, 255 - 40 * i)
        cv2.imwrite(str(folder / f'frame_{i:02d}.png'), image)
    return folder


def test_write_video_keeps_the_order_and_size(tmp_path):
    folder = _frames(tmp_path / 'f', 4)
    out = write_video(sorted(str(p) for p in folder.iterdir()), str(tmp_path / 'v.mp4'), 8)
    assert is_video(out) and not is_video(str(folder))
    frames = list(mmcv.VideoReader(out))
    assert len(frames) == 4 and frames[0].shape == (48, 64, 3)
    widths = [(frame[24].astype(int).sum(1) > 300).sum() for frame in frames]
    assert widths == sorted(widths) and widths[0] < widths[-1]  # the bar grows frame by frame
    with pytest.raises(ValueError, match='no frame'):
        write_video([], str(tmp_path / 'empty.mp4'), 8)


def test_folders_of_frames_and_of_images(tmp_path):
    ckpt = save_model_checkpoint(DEMO_CONFIG, str(tmp_path / 'm.pth'))
    inferencer = MultiTaskInferencer(DEMO_CONFIG, ckpt, device='cpu', show_progress=False)
    folder = _frames(tmp_path / 'walk', 3)
    out = tmp_path / 'out'
    done = infer_inputs(inferencer, [str(folder)], str(out), frames=True, fps=5)
    videos = done['videos'][str(folder)]
    assert sorted(videos) == ['depth', 'normals', 'panels', 'semseg']
    for path in videos.values():
        reader = mmcv.VideoReader(path)
        assert (reader.frame_cnt, reader.fps) == (3, 5)
    assert osp.isfile(out / 'walk' / 'pred' / 'depth' / 'frame_02.npy')
    # without frames=True a folder is a set of images
    done = infer_inputs(inferencer, [str(folder)], str(tmp_path / 'images'))
    assert done == dict(images=3, videos={})
    assert osp.isfile(tmp_path / 'images' / 'vis' / 'semseg' / 'frame_01.png')
    with pytest.raises(FileNotFoundError, match='input .*missing.mp4 does not exist'):
        infer_inputs(inferencer, [str(tmp_path / 'missing.mp4')], str(out))
