# sKEM + Rep-MTL on NYUD-v2: the KEM + Rep-MTL config with sKEM as the interaction (same two
# switches).
_base_ = ['./kem-rep-mtl_swin-t_40k_nyud-448x576.py']
model = dict(interaction=dict(type='SKEM'))
