"""clear_errors: errors whose message says it all become that message and exit code 1."""

import pytest
import torch

from mmkem.apis import clear_errors
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
