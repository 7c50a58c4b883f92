# sKEM, 'task_axis' reading of eq. 7 (the ETF mixes the image and question segments' logits).
_base_ = ['_base_/reasoner_sort-of-clevr.py']

model = dict(interaction=dict(type='SKEM', etf_mode='task_axis'))
