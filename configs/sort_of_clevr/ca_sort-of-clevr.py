# Cross-attention over all tokens of both segments instead of the memory (KEM w/ CA, eq. 4).
_base_ = ['_base_/reasoner_sort-of-clevr.py']

model = dict(interaction=dict(_delete_=True, type='TaskCrossAttention'))
