# Single-task reference for Δm on PASCAL-Context: only human_parts, no task interaction. Its main metric is
# the reference to put in MultiTaskMetric(references=...) of the multi-task PASCAL configs.
_base_ = ['../kem/kem_swin-t_40k_pascal-512x512.py']
tasks = ['human_parts']
model = dict(interaction=None, loss_weighting=dict(_delete_=True, type='FixedLossWeighting'))
val_evaluator = dict(_delete_=True, type='MultiTaskMetric', references=None)
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='human_parts/mIoU', rule='greater'))
