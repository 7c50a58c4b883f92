# Single-task reference for Δm: only semseg, no interaction neck. Its semseg metric is the reference
# to put in MultiTaskMetric(references=...) of the multi-task configs.
_base_ = ['../kem/kem_swin-t_40k_nyud-448x576.py']
tasks = ['semseg']
model = dict(
    tasks=tasks,
    neck=None,
    loss_weighting=dict(weights=dict(_delete_=True, semseg=1.0)),
)
train_dataloader = dict(dataset=dict(tasks=tasks))
val_dataloader = dict(dataset=dict(tasks=tasks))
test_dataloader = val_dataloader
val_evaluator = dict(tasks=tasks, references=None)
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='semseg/mIoU', rule='greater'))
