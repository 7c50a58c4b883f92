# sKEM (paper eq. 7): KEM whose retrieve logits go through the fixed ETF. etf_mode='task_axis' is the
# default reading (ALGORITHMS.md); 'feature' is the other one.
_base_ = ['../kem/kem_swin-t_40k_nyud-448x576.py']
model = dict(interaction=dict(type='SKEM'))
