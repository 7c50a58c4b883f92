# No interaction module (the control), long-tailed training set (asked colour ~ rank^-2); balanced
# test set.
_base_ = ['none_sort-of-clevr.py']

train_dataloader = dict(dataset=dict(long_tail=dict(_delete_=True, target='colour', exponent=2.0)))
