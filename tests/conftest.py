import random

import numpy as np
import pytest
import torch


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
