# Single-task reference for Δm: only depth, no task interaction. Its depth metric is the reference
# to put in MultiTaskMetric(references=...) of the multi-task configs.
_base_ = ['../kem/kem_swin-t_40k_nyud-448x576.py']
tasks = ['depth']
model = dict(interaction=None)
val_evaluator = dict(references=None)
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='depth/rmse', rule='less'))
