"""mmkem.structures.tasks: the registries of kinds and tasks, their checks and lookups."""

import pytest

import mmkem  # noqa: F401
from mmkem.structures import (
    TaskKind,
    TaskSpec,
    check_task_list,
    get_kind,
    get_task_spec,
    register_kind,
    register_task,
    spec_of_field,
    task_classes,
)


def test_registry_errors_name_the_problem():
    with pytest.raises(ValueError, match="kind 'nope'"):
        register_task(TaskSpec('t_nope', 'nope', 'gt_t_nope', 'pred_t_nope'))
    with pytest.raises(ValueError, match="task 'semseg' already uses"):
        register_task(TaskSpec('semseg2', 'segmentation', 'gt_sem_seg', 'pred_semseg2'))
    with pytest.raises(ValueError, match="main metric 'rmse'"):
        register_task(TaskSpec('seg2', 'segmentation', 'gt_seg2', 'pred_seg2', metric='rmse'))
    with pytest.raises(KeyError, match='already registered'):
        register_kind(get_kind('depth'))
    with pytest.raises(ValueError, match='channels'):
        TaskKind(**{**get_kind('depth').__dict__, 'labels': True})
    with pytest.raises(KeyError, match="unknown task kind 'x'"):
        get_kind('x')


def test_lookups():
    assert spec_of_field('gt_depth_map') is get_task_spec('depth')
    assert spec_of_field('gt_seg_map') is None  # mmseg's own field: no task
    assert task_classes('human_parts', dict(classes=('a',), human_parts_classes=('b', 'c'))) == (
        'b',
        'c',
    )
    assert task_classes('semseg', dict(classes=('a',))) == ('a',)
    assert task_classes('semseg', None) is None


def test_task_lists_are_checked_once():
    assert check_task_list(('semseg', 'depth')) == ['semseg', 'depth']
    with pytest.raises(ValueError, match='non-empty sequence'):
        check_task_list('semseg')
    with pytest.raises(ValueError, match='repeat'):
        check_task_list(['depth', 'depth'], what='model.tasks')
    with pytest.raises(KeyError, match="unknown task 'x'"):
        check_task_list(['x'])
    assert check_task_list(['x'], known=False) == ['x']
