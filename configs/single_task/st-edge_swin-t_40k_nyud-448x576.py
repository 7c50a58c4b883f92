# Single-task reference for Δm in NYUD-v2's 4-task protocol: only edge, no task interaction. Its
# main metric is the reference to add to MultiTaskMetric(references=...) of
# configs/kem/kem_swin-t_40k_nyud-4tasks-448x576.py and its variants.
_base_ = ['../kem/kem_swin-t_40k_nyud-448x576.py']
tasks = ['edge']
model = dict(interaction=None)
val_evaluator = dict(references=None)
test_evaluator = val_evaluator
# The edge kind's main metric as validation names it (11 thresholds, configs/_base_/datasets/nyud.py).
default_hooks = dict(checkpoint=dict(save_best='edge/odsF_t11', rule='greater'))
