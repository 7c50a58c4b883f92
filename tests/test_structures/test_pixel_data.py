"""mmkem.structures.pixel_data: the array of a PixelData in every form it travels in."""

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmkem.structures import get_field, pixel_array


def test_every_form_gives_the_same_array():
    data = torch.arange(6.0).view(1, 2, 3)
    for value in (PixelData(data=data), dict(data=data), data, data.numpy()):
        np.testing.assert_array_equal(pixel_array(value), data.numpy())
    with pytest.raises(KeyError, match='prediction: expected a PixelData'):
        pixel_array(dict(values=data), 'prediction')


def test_fields_of_a_sample_and_of_its_dict_form():
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=torch.zeros(1, 2, 2))
    assert get_field(sample, 'gt_sem_seg') is sample.gt_sem_seg
    assert get_field(sample.to_dict(), 'gt_sem_seg')['data'].shape == (1, 2, 2)
    assert get_field(sample, 'pred_sem_seg') is None
