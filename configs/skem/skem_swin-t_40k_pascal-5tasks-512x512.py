# sKEM (paper eq. 7) in PASCAL-Context's standard 5-task protocol: KEM whose retrieve logits go
# through the fixed ETF.
_base_ = ['../kem/kem_swin-t_40k_pascal-5tasks-512x512.py']
model = dict(interaction=dict(type='SKEM'))
