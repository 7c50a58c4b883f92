# Single-task reference for Δm in NYUD-v2's 4-task protocol: only normals, no task interaction. Its
# main metric is the reference to add to MultiTaskMetric(references=...) of
# configs/kem/kem_swin-t_40k_nyud-4tasks-448x576.py and its variants.
_base_ = ['../kem/kem_swin-t_40k_nyud-448x576.py']
tasks = ['normals']
model = dict(interaction=None)
val_evaluator = dict(references=None)
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='normals/mean', rule='less'))
