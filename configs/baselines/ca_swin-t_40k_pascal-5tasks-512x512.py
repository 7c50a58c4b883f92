# "KEM w/ CA" (paper eq. 4) in PASCAL-Context's standard 5-task protocol: softmax cross-attention
# over all tasks' tokens instead of KEM.
_base_ = ['../kem/kem_swin-t_40k_pascal-5tasks-512x512.py']
model = dict(interaction=dict(_delete_=True, type='TaskCrossAttention'))
