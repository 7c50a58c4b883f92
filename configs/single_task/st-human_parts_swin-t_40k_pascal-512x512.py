# Single-task reference for Δm on PASCAL-Context: only human_parts, no interaction neck. Its main metric is
# the reference to put in MultiTaskMetric(references=...) of the multi-task PASCAL configs.
_base_ = ['../kem/kem_swin-t_40k_pascal-512x512.py']
tasks = ['human_parts']
model = dict(
    tasks=tasks,
    neck=None,
    heads=dict(_delete_=True, human_parts=dict(type='DenseTaskHead')),
    loss_weighting=dict(weights=dict(_delete_=True, human_parts=1.0)),
)
train_dataloader = dict(dataset=dict(tasks=tasks))
val_dataloader = dict(dataset=dict(tasks=tasks))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='MultiTaskMetric', tasks=tasks, references=None)
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='human_parts/mIoU', rule='greater'))
