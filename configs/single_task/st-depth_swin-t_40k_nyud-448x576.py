# Single-task reference for Δm: only depth, no interaction neck. Its depth metric is the reference
# to put in MultiTaskMetric(references=...) of the multi-task configs.
_base_ = ['../kem/kem_swin-t_40k_nyud-448x576.py']
tasks = ['depth']
model = dict(
    tasks=tasks,
    neck=None,
    loss_weighting=dict(weights=dict(_delete_=True, depth=1.0)),
)
train_dataloader = dict(dataset=dict(tasks=tasks))
val_dataloader = dict(dataset=dict(tasks=tasks))
test_dataloader = val_dataloader
val_evaluator = dict(tasks=tasks, references=None)
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='depth/rmse', rule='less'))
