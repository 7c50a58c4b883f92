# sKEM, 'feature' reading of eq. 7: cosine logits in an 8-vertex ETF space (K=2 would degenerate).
_base_ = ['_base_/reasoner_sort-of-clevr.py']

model = dict(interaction=dict(type='SKEM', etf_mode='feature', num_vertices=8))
