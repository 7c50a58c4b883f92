"""SortOfCLEVRDataset: built from the registry, its samples equal the generator's split."""

import numpy as np
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

import mmkem  # noqa: F401
from mmkem.datasets.synthetic import sort_of_clevr as soc


def test_dataset_from_registry(tmp_path):
    init_default_scope('mmseg')
    dataset = DATASETS.build(
        dict(
            type='SortOfCLEVRDataset',
            data_root=str(tmp_path),
            num_images=4,
            questions_per_family=3,
            seed=2,
            long_tail=dict(target='subtype', exponent=2.0),
        )
    )
    ref = soc.generate_sort_of_clevr(4, 3, seed=2, long_tail=dict(target='subtype', exponent=2.0))
    assert len(dataset) == 4
    sample = dataset[1]
    assert tuple(sample['inputs'].shape) == (3, 75, 75)
    np.testing.assert_array_equal(sample['inputs'].permute(1, 2, 0).numpy(), ref['images'][1])
    np.testing.assert_array_equal(sample['questions'].numpy(), ref['questions'][1])
    np.testing.assert_array_equal(sample['answers'].numpy(), ref['answers'][1])
    np.testing.assert_array_equal(sample['families'].numpy(), [0, 0, 0, 1, 1, 1])
    assert dataset.metainfo['answers'][0] == 'yes'
