# "KEM w/ CA" (paper eq. 4) in the high-resolution model of kem_swin-t-s8_40k_pascal-512x512.py: softmax cross-attention
# over all tasks' tokens (SDPA's fastest exact kernel) instead of KEM (docs/models.md).
_base_ = ['../kem/kem_swin-t-s8_40k_pascal-512x512.py']
model = dict(interaction=dict(_delete_=True, type='TaskCrossAttention'))
