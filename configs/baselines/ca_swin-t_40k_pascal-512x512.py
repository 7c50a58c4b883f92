# "KEM w/ CA" (paper eq. 4) on PASCAL-Context: softmax cross-attention over all tasks' tokens.
_base_ = ['../kem/kem_swin-t_40k_pascal-512x512.py']
model = dict(neck=dict(_delete_=True, type='TaskCrossAttention', in_channels=256, num_tasks=3))
