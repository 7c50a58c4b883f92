# As upernet_r50_kem, with sKEM's ETF on the retrieve logits ('feature' reading of eq. 7).
_base_ = ['./upernet_r50_kem_4xb4-80k_ade20k-512x512.py']
model = dict(neck=dict(mixer=dict(type='KEMCore', etf_mode='feature', num_vertices=8)))
