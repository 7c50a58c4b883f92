# KEM, long-tailed training set: the asked colour ~ rank^-2 (Table 1, row 3); balanced test set.
_base_ = ['kem_sort-of-clevr.py']

train_dataloader = dict(dataset=dict(long_tail=dict(_delete_=True, target='colour', exponent=2.0)))
