# sKEM, 'task_axis' reading of eq. 7: at each cell the 2x2 ETF mixes the slot logits of the cell
# with the question and without it (the question and image segments of RelationalReasoner).
_base_ = ['_base_/reasoner_sort-of-clevr.py']

model = dict(interaction=dict(type='SKEM', etf_mode='task_axis'))
