# "KEM w/ CA" (paper eq. 4): softmax cross-attention over all tasks' tokens instead of KEM.
_base_ = ['../kem/kem_swin-t_40k_nyud-448x576.py']
model = dict(interaction=dict(_delete_=True, type='TaskCrossAttention'))
