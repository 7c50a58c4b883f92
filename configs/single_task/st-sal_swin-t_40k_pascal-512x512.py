# Single-task reference for Δm on PASCAL-Context: only sal, no task interaction. Its main metric is
# the reference to put in MultiTaskMetric(references=...) of the multi-task PASCAL configs.
_base_ = ['../kem/kem_swin-t_40k_pascal-512x512.py']
tasks = ['sal']
model = dict(interaction=None, loss_weighting=dict(_delete_=True, type='FixedLossWeighting'))
val_evaluator = dict(
    _delete_=True, type='MultiTaskMetric', main_metrics=dict(sal='mIoU'), references=None
)
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='sal/mIoU', rule='greater'))
