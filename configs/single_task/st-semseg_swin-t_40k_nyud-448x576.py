# Single-task reference for Δm: only semseg, no task interaction. Its semseg metric is the reference
# to put in MultiTaskMetric(references=...) of the multi-task configs.
_base_ = ['../kem/kem_swin-t_40k_nyud-448x576.py']
tasks = ['semseg']
model = dict(interaction=None)
val_evaluator = dict(references=None)
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='semseg/mIoU', rule='greater'))
