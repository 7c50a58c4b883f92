# The control row: no interaction module; cells never exchange information, only the readout
# (mean and max over the question tokens) combines them.
_base_ = ['_base_/reasoner_sort-of-clevr.py']

model = dict(interaction=None)
