"""The PASCAL-Context LabelMap classes and ASTMT's classes with valid distilled normals."""

import numpy as np

from mmkem.datasets import NORMALS_VALID_CLASSES, PASCAL_CONTEXT_459_CLASSES
from mmkem.datasets.pascal_context_labels import normals_valid_labels


def test_459_classes_in_labelmap_order():
    assert len(PASCAL_CONTEXT_459_CLASSES) == 459
    assert len(set(PASCAL_CONTEXT_459_CLASSES)) == 459
    assert list(PASCAL_CONTEXT_459_CLASSES) == sorted(PASCAL_CONTEXT_459_CLASSES)  # labels.txt
    # LabelMap ids of PASCAL-Context's labels.txt (id = position + 1).
    ids = {name: i + 1 for i, name in enumerate(PASCAL_CONTEXT_459_CLASSES)}
    expected = dict(accordion=1, aeroplane=2, cabinet=46, person=284, sky=360, table=397)
    expected.update(tvmonitor=427, unknown=431, wall=440, wool=459)
    assert {name: ids[name] for name in expected} == expected


def test_normals_valid_classes():
    assert len(NORMALS_VALID_CLASSES) == 170
    assert len(set(NORMALS_VALID_CLASSES)) == 170
    assert set(NORMALS_VALID_CLASSES) <= set(PASCAL_CONTEXT_459_CLASSES)
    # Indoor classes NYUD-v2 labels too, and the one added by hand (NYUD calls it 'television').
    for name in ('wall', 'floor', 'ceiling', 'chair', 'table', 'sofa', 'bed', 'person', 'door'):
        assert name in NORMALS_VALID_CLASSES, name
    assert 'tvmonitor' in NORMALS_VALID_CLASSES
    # Outdoor and animal classes NYUD-v2 has no name for, and 'unknown' (excluded by the rule).
    for name in ('sky', 'grass', 'tree', 'road', 'water', 'mountain', 'horse', 'sheep', 'unknown'):
        assert name not in NORMALS_VALID_CLASSES, name
    labels = normals_valid_labels()
    assert labels.dtype == np.int64 and len(labels) == 170
    assert np.all(np.diff(labels) > 0)
    for name, label in (('air conditioner', 3), ('wall', 440), ('tvmonitor', 427), ('wire', 457)):
        assert label in labels, name
    assert 360 not in labels and 431 not in labels  # sky, unknown
