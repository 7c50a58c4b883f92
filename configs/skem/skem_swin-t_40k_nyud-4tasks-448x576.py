# sKEM (paper eq. 7) in NYUD-v2's standard 4-task protocol: KEM whose retrieve logits go through
# the fixed ETF.
_base_ = ['../kem/kem_swin-t_40k_nyud-4tasks-448x576.py']
model = dict(interaction=dict(type='SKEM'))
