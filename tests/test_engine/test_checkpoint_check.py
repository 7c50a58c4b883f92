"""check_checkpoint_matches refuses another model's or a broken checkpoint with a clear message."""

import pytest
import torch
import torch.nn as nn
from mmseg.models import SegTTAModel

from mmkem.engine import CheckpointMismatchError, check_checkpoint_matches, compare_state_dicts


class _Net(nn.Module):
    def __init__(self, width=4, extra=False):
        super().__init__()
        self.neck = nn.Sequential(nn.Linear(width, width))
        self.heads = nn.ModuleDict(dict(semseg=nn.Linear(width, 2)))
        if extra:
            self.heads['depth'] = nn.Linear(width, 1)

    def test_step(self, data):  # what a TTA wrapper asks of its module
        return data


def _save(model, path, wrap=True, prefix=''):
    state = {prefix + k: v for k, v in model.state_dict().items()}
    torch.save(dict(state_dict=state, meta=dict(iter=2)) if wrap else state, path)
    return str(path)


def test_compare_state_dicts_by_hand():
    model = dict(a=torch.zeros(2), b=torch.zeros(3), c=torch.zeros(1))
    ckpt = dict(a=torch.zeros(2), b=torch.zeros(4), d=torch.zeros(1))
    assert compare_state_dicts(model, ckpt) == dict(
        missing=['c'], unexpected=['d'], shape=[('b', (3,), (4,))]
    )


@pytest.mark.parametrize('wrap, prefix', [(True, ''), (False, ''), (True, 'module.')])
def test_matching_checkpoint_passes(tmp_path, wrap, prefix):
    model = _Net()
    check_checkpoint_matches(model, _save(model, tmp_path / 'a.pth', wrap, prefix))


def test_tta_wrapper_is_unwrapped(tmp_path):
    model = _Net()
    path = _save(model, tmp_path / 'a.pth')
    check_checkpoint_matches(SegTTAModel(module=model), path)


def test_another_model_lists_what_differs(tmp_path):
    path = _save(_Net(width=4, extra=True), tmp_path / 'other.pth')
    with pytest.raises(CheckpointMismatchError) as info:
        check_checkpoint_matches(_Net(width=8), path, config='cfg.py')
    message = str(info.value)
    assert message.startswith(f'checkpoint {path} does not match the model of cfg.py')
    assert '2 checkpoint weights are not in the model: heads.depth (2)' in message
    assert '3 weights differ in shape' in message
    assert 'neck.0.weight: model (8, 8), checkpoint (4, 4)' in message
    assert 'load_from' in message

    path = _save(_Net(), tmp_path / 'fewer.pth')
    with pytest.raises(
        CheckpointMismatchError,
        match='2 model weights are missing from the checkpoint: heads.depth',
    ):
        check_checkpoint_matches(_Net(extra=True), path)


def test_truncated_missing_and_non_checkpoint_files(tmp_path):
    path = _save(_Net(), tmp_path / 'a.pth')
    with open(path, 'rb') as f:
        data = f.read()
    (tmp_path / 'cut.pth').write_bytes(data[: len(data) // 2])
    with pytest.raises(
        CheckpointMismatchError, match=r'cannot read checkpoint .*cut.pth .*truncated'
    ):
        check_checkpoint_matches(_Net(), str(tmp_path / 'cut.pth'))
    with pytest.raises(FileNotFoundError, match='nope.pth does not exist'):
        check_checkpoint_matches(_Net(), str(tmp_path / 'nope.pth'))
    torch.save([1, 2], tmp_path / 'list.pth')
    with pytest.raises(CheckpointMismatchError, match='holds no state dict'):
        check_checkpoint_matches(_Net(), str(tmp_path / 'list.pth'))
