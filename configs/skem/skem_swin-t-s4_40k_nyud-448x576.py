# sKEM (paper eq. 7) in the high-resolution model of kem_swin-t-s4_40k_nyud-448x576.py (docs/models.md).
_base_ = ['../kem/kem_swin-t-s4_40k_nyud-448x576.py']
model = dict(interaction=dict(type='SKEM'))
