import pytest
import torch
from mmseg.registry import MODELS

import mmkem  # noqa: F401
from mmkem.models.losses.utils import check_same_shape


def test_check_same_shape_names_both_shapes():
    check_same_shape(torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2))
    with pytest.raises(ValueError, match=r'same shape, got \(1, 1, 2, 2\) and \(1, 1, 2, 3\)'):
        check_same_shape(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 3))


@pytest.mark.parametrize('loss', ['DepthL1Loss', 'BalancedBCELoss'])
def test_losses_check_the_shape(loss):
    with pytest.raises(ValueError, match='same shape'):
        MODELS.build(dict(type=loss))(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 3, 2))
