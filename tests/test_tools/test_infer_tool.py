"""tools/infer.py on an image, a folder and a video file, with flip TTA and sliding windows
(folders of frames: tests/test_apis/test_video.py); tools/deployment/pytorch2onnx.py's export and
check."""

import glob
import os.path as osp
import sys

import cv2
import mmcv
import pytest

from mmkem.testing import run_command, save_model_checkpoint

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TASKS = ['semseg', 'depth', 'normals']


@pytest.fixture(scope='module')
def checkpoint(tiny_setup):
    root, cfg, _ = tiny_setup
    return save_model_checkpoint(cfg, str(root / 'infer_untrained.pth'))


def test_images_folders_and_videos(tiny_setup, checkpoint, tmp_path):
    _, cfg, data_root = tiny_setup
    images = sorted(glob.glob(osp.join(data_root, 'images', '*')))
    video = str(tmp_path / 'clip.mp4')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 4, (64, 48))
    for path in images[:3]:
        writer.write(cv2.imread(path))
    writer.release()
    extra = str(tmp_path / 'extra.png')
    cv2.imwrite(extra, cv2.imread(images[0]))
    out = tmp_path / 'out'
    cmd = [sys.executable, osp.join(REPO, 'tools', 'infer.py'), cfg, checkpoint, extra]
    cmd += [osp.join(data_root, 'images'), video, '--out-dir', str(out)]
    cmd += ['--tta', 'flip', '--mode', 'slide', '--crop-size', '32', '32', '--stride', '16', '16']
    cmd += ['--batch-size', '2', '--device', 'cpu']
    res = run_command(cmd, cwd=str(tmp_path))
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    stems = {osp.splitext(osp.basename(p))[0] for p in images} | {'extra'}
    for task in TASKS:
        written = {
            osp.splitext(osp.basename(p))[0] for p in glob.glob(str(out / 'vis' / task / '*'))
        }
        assert written == stems, task  # the image and the folder's images
        assert osp.isfile(out / 'pred' / task / f'{sorted(stems)[0]}.png')
    assert len(glob.glob(str(out / 'panels' / '*.png'))) == len(stems)
    # a video per task (and of the panels), and the files of each frame
    for name in TASKS + ['panels']:
        reader = mmcv.VideoReader(str(out / 'clip' / f'{name}.mp4'))
        assert (reader.frame_cnt, reader.fps) == (3, 4), name
    assert len(glob.glob(str(out / 'clip' / 'pred' / 'depth' / '*.npy'))) == 3
    assert osp.isfile(out / 'clip' / 'pred' / 'semseg' / '000002.png')
    assert 'clip.mp4: semseg' in res.stdout


def test_a_bad_input_ends_with_one_line(tiny_setup, checkpoint, tmp_path):
    """A task the model does not have (a ValueError of the inferencer; the other bad inputs are
    tests/test_apis/test_multi_task_inferencer.py's) stops with one message, no traceback."""
    _, cfg, data_root = tiny_setup
    image = sorted(glob.glob(osp.join(data_root, 'images', '*')))[0]
    tool = [sys.executable, osp.join(REPO, 'tools', 'infer.py'), cfg, checkpoint, image]
    res = run_command(tool + ['--out-dir', 'o', '--tasks', 'sal'], cwd=str(tmp_path))
    assert res.returncode == 1 and 'Traceback' not in res.stderr
    assert "error: the model has no task ['sal']: its tasks are" in res.stderr


def test_pytorch2onnx_exports_and_checks_all_tasks(tiny_setup, checkpoint, tmp_path):
    pytest.importorskip('onnxruntime', reason='a test dependency: requirements/tests.txt')
    _, cfg, _ = tiny_setup
    onnx_file = tmp_path / 'model.onnx'
    cmd = [sys.executable, osp.join(REPO, 'tools', 'deployment', 'pytorch2onnx.py'), cfg]
    cmd += [checkpoint, '--out', str(onnx_file), '--shape', '64', '96']
    res = run_command(cmd, cwd=str(tmp_path))
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    assert onnx_file.stat().st_size > 1e6  # the weights are inside
    for task in TASKS:
        assert f'  {task}: max |onnx - torch| = ' in res.stdout and ': ok' in res.stdout
    import onnx

    model = onnx.load(str(onnx_file))
    assert [o.name for o in model.graph.output] == TASKS
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [1, 3, 64, 96]
