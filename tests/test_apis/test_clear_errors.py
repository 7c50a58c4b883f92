"""clear_errors: errors whose message says it all become that message and exit code 1."""

import pytest
import torch

from mmkem.apis import LaunchError, clear_errors
from mmkem.apis.launch import worker_error
from mmkem.datasets.transforms import BadAnnotationError
from mmkem.engine import CheckpointMismatchError
from mmkem.models.segmentors import NonFiniteLossError


@pytest.mark.parametrize(
    'error',
    [
        FileNotFoundError('data_root data/NYUDv2 does not exist'),
        CheckpointMismatchError('checkpoint a.pth does not match the model'),
        NonFiniteLossError({'depth.loss_depth_l1': torch.tensor(float('nan'))}),
    ],
)
def test_one_message_and_exit_1(error, capsys, monkeypatch):
    monkeypatch.delenv('MMKEM_DEBUG', raising=False)
    with pytest.raises(SystemExit) as info, clear_errors():
        raise error
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert f'error: {error}' in err and 'MMKEM_DEBUG=1' in err


def test_debug_keeps_the_exception_and_others_pass(monkeypatch):
    monkeypatch.setenv('MMKEM_DEBUG', '1')
    with pytest.raises(FileNotFoundError), clear_errors():
        raise FileNotFoundError('x')
    monkeypatch.delenv('MMKEM_DEBUG')
    with pytest.raises(RuntimeError), clear_errors():
        raise RuntimeError('a bug keeps its traceback')


def test_non_finite_loss_message_without_a_runner():
    error = NonFiniteLossError(
        {'semseg.loss_ce': torch.tensor(0.5), 'depth.loss_depth_l1': torch.tensor(float('inf'))}
    )
    assert error.tasks == ['depth']
    assert "in task(s) ['depth']: depth.loss_depth_l1=inf (finite: semseg.loss_ce=0.5)" in str(
        error
    )


class _Raises(torch.utils.data.Dataset):
    """A dataset whose every sample raises ``error`` (chained to a decoder's own error)."""

    def __init__(self, error):
        self.error = error

    def __len__(self):
        return 2

    def __getitem__(self, index):
        try:
            raise OSError('image file is truncated')
        except OSError as cause:
            raise self.error from cause


def _from_worker(error):
    """The exception torch re-raises in this process for ``error`` raised in a worker."""
    loader = torch.utils.data.DataLoader(_Raises(error), num_workers=1)
    with pytest.raises(Exception) as info:
        next(iter(loader))
    return info.value


@pytest.mark.parametrize(
    'error',
    [
        BadAnnotationError('data/depth/0001.npy: 3046 of 3072 depth values exceed max_depth=100 m'),
        AssertionError('failed to load image: data/images/0001.png'),
        FileNotFoundError('data/depth/0001.npy does not exist'),
    ],
)
def test_worker_errors_give_the_main_process_message(error, capsys, monkeypatch):
    monkeypatch.delenv('MMKEM_DEBUG', raising=False)
    wrapped = _from_worker(error)
    assert str(wrapped).startswith(f'Caught {type(error).__name__} in DataLoader worker process')
    assert worker_error(wrapped) == (type(error).__name__, str(error))
    messages = []
    for raised in (error, wrapped):
        with pytest.raises(SystemExit) as info, clear_errors():
            raise raised
        assert info.value.code == 1
        messages.append(capsys.readouterr().err)
    assert messages[0] == messages[1]  # the same one message, from a worker or not
    assert str(error) in messages[0] and 'Traceback' not in messages[0]
    assert 'Caught' not in messages[1] and 'worker' not in messages[1]


def test_worker_bugs_keep_their_traceback(monkeypatch):
    monkeypatch.delenv('MMKEM_DEBUG', raising=False)
    wrapped = _from_worker(KeyError('gt_depth_map'))
    with pytest.raises(KeyError), clear_errors():
        raise wrapped
    wrapped = _from_worker(AssertionError('shapes differ'))
    with pytest.raises(AssertionError), clear_errors():
        raise wrapped
    assert worker_error(RuntimeError('not from a worker')) is None
    monkeypatch.setenv('MMKEM_DEBUG', '1')
    with pytest.raises(BadAnnotationError, match='Caught BadAnnotationError'), clear_errors():
        raise _from_worker(BadAnnotationError('x.png: bad'))


def test_launch_errors_are_one_message(capsys, monkeypatch):
    monkeypatch.delenv('MMKEM_DEBUG', raising=False)
    with pytest.raises(SystemExit), clear_errors():
        raise LaunchError('--amp needs a GPU')
    assert 'error: --amp needs a GPU' in capsys.readouterr().err
