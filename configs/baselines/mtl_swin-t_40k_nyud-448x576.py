# Plain multi-task baseline: the same model with no interaction between the task branches.
_base_ = ['../kem/kem_swin-t_40k_nyud-448x576.py']
model = dict(interaction=None)
