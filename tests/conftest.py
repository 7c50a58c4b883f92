import random

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True, scope='session')
def _one_thread():
    """The tests use small tensors: on a shared 2-core machine a second intra-op thread only waits
    for the other core (measured about 10x slower for the segmentor tests)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _seed_everything():
    """Every test starts from the same random state, whatever ran before it.

    Modules initialise their weights from the global generators; without this a test's weights (and
    so, e.g., near-ties in a top-k) would depend on which tests ran earlier.
    """
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` are skipped, saying why, where torch sees no CUDA device."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(
        reason='needs a CUDA device (torch.cuda.is_available() is False); on a GPU machine run '
        'them with tools/gpu_check.sh or pytest -m cuda'
    )
    for item in items:
        if 'cuda' in item.keywords:
            item.add_marker(skip)
