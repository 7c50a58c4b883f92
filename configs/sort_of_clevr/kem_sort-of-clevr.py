# KEM (paper eqs. 1-3) in the Sort-of-CLEVR reasoning model, balanced training set (Table 1, row 1).
_base_ = ['_base_/reasoner_sort-of-clevr.py']
