# Single-task reference for Δm on PASCAL-Context: only sal, no interaction neck. Its main metric is
# the reference to put in MultiTaskMetric(references=...) of the multi-task PASCAL configs.
_base_ = ['../kem/kem_swin-t_40k_pascal-512x512.py']
tasks = ['sal']
model = dict(
    tasks=tasks,
    neck=None,
    heads=dict(_delete_=True, sal=dict(type='DenseTaskHead')),
    loss_weighting=dict(weights=dict(_delete_=True, sal=1.0)),
)
train_dataloader = dict(dataset=dict(tasks=tasks))
val_dataloader = dict(dataset=dict(tasks=tasks))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='MultiTaskMetric',
    tasks=tasks,
    main_metrics=dict(sal='mIoU'),
    references=None,
)
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='sal/mIoU', rule='greater'))
