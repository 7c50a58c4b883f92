import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

import mmkem  # noqa: F401  (applies the allowlist)


def test_mmengine_message_hub_state_loads_weights_only(tmp_path):
    """What mmengine puts into every checkpoint loads under torch's weights-only default."""
    buf = HistoryBuffer()
    buf.update(np.float64(1.5))
    buf.update(2.0)
    state = dict(
        meta=dict(iter=3, seed=np.int64(0)),
        message_hub=dict(log_scalars={'loss': buf}),
        state_dict={'w': torch.ones(2)},
        arr=np.arange(3, dtype=np.float32),
    )
    path = tmp_path / 'ckpt.pth'
    torch.save(state, path)
    loaded = torch.load(path, map_location='cpu')  # weights_only=True is torch's default
    assert loaded['message_hub']['log_scalars']['loss'].mean() == pytest.approx(1.75)
    assert loaded['arr'].tolist() == [0.0, 1.0, 2.0]


class _Evil:
    def __reduce__(self):
        return (print, ('this must not run',))


def test_unpickler_stays_restricted(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'x': _Evil()}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, map_location='cpu')
