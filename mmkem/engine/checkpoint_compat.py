"""Let mmengine 0.10.7 load the checkpoints it writes under torch >= 2.6.

torch 2.6 made ``torch.load(weights_only=True)`` the default; mmengine 0.10.7 (the last release)
predates that and calls ``torch.load`` without the argument, while its checkpoints carry the
message hub's ``HistoryBuffer`` (numpy arrays, and bound methods pickled through ``getattr``). So
``--resume`` and ``tools/test.py CHECKPOINT`` fail on every checkpoint a training run wrote.

Instead of turning the weights-only unpickler off, this allowlists exactly the globals mmengine's
own checkpoints contain (measured with ``torch.serialization.get_unsafe_globals_in_checkpoint``),
with torch's public ``add_safe_globals``. The unpickler stays restricted: it still refuses to call
any function outside the allowlist. As with any checkpoint, load only files you trust.
"""

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

__all__ = ['MMENGINE_CHECKPOINT_GLOBALS', 'allow_mmengine_checkpoint_globals']


def _numpy_globals() -> list:
    core = getattr(np, '_core', None) or np.core  # numpy 2 renamed np.core to np._core
    dtypes = [getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith('DType')]
    return [core.multiarray._reconstruct, core.multiarray.scalar, np.ndarray, np.dtype] + dtypes


MMENGINE_CHECKPOINT_GLOBALS = [HistoryBuffer, getattr] + _numpy_globals()


def allow_mmengine_checkpoint_globals() -> None:
    """Add :data:`MMENGINE_CHECKPOINT_GLOBALS` to torch's weights-only allowlist (idempotent)."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:  # torch < 2.4 has no allowlist and loads everything anyway
        add(MMENGINE_CHECKPOINT_GLOBALS)


allow_mmengine_checkpoint_globals()
