# sKEM + Rep-MTL on NYUD-v2: the KEM + Rep-MTL config with the sKEM neck (same two switches).
_base_ = ['./kem-rep-mtl_swin-t_40k_nyud-448x576.py']
model = dict(neck=dict(type='SKEM'))
