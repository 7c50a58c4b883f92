# Single-task reference for Δm in PASCAL-Context's 5-task protocol: only normals, no task interaction.
# Its main metric is the reference to add to MultiTaskMetric(references=...) of
# configs/kem/kem_swin-t_40k_pascal-5tasks-512x512.py and its variants.
_base_ = ['../kem/kem_swin-t_40k_pascal-512x512.py']
tasks = ['normals']
model = dict(interaction=None, loss_weighting=dict(_delete_=True, type='FixedLossWeighting'))
val_evaluator = dict(_delete_=True, type='MultiTaskMetric', references=None)
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='normals/mean', rule='less'))
