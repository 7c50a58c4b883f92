# "KEM w/ CA" (paper eq. 4) in NYUD-v2's standard 4-task protocol: softmax cross-attention over all
# tasks' tokens instead of KEM.
_base_ = ['../kem/kem_swin-t_40k_nyud-4tasks-448x576.py']
model = dict(interaction=dict(_delete_=True, type='TaskCrossAttention'))
