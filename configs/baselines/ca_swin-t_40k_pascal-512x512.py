# "KEM w/ CA" (paper eq. 4) on PASCAL-Context: softmax cross-attention over all tasks' tokens.
_base_ = ['../kem/kem_swin-t_40k_pascal-512x512.py']
model = dict(interaction=dict(_delete_=True, type='TaskCrossAttention'))
