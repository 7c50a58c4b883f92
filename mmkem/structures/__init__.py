from .tasks import TASK_SPECS, TaskSpec, get_task_spec, get_task_specs, register_task

__all__ = ['TASK_SPECS', 'TaskSpec', 'get_task_spec', 'get_task_specs', 'register_task']
