# sKEM (paper eq. 7) on PASCAL-Context: KEM whose retrieve logits go through the fixed ETF.
_base_ = ['../kem/kem_swin-t_40k_pascal-512x512.py']
model = dict(interaction=dict(type='SKEM'))
