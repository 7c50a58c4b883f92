from .dense_task_head import KIND_RULES, DenseTaskHead, KindRules

__all__ = ['DenseTaskHead', 'KIND_RULES', 'KindRules']
