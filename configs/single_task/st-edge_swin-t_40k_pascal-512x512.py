# Single-task reference for Δm in PASCAL-Context's 5-task protocol: only edge, no task interaction.
# Its main metric is the reference to add to MultiTaskMetric(references=...) of
# configs/kem/kem_swin-t_40k_pascal-5tasks-512x512.py and its variants.
_base_ = ['../kem/kem_swin-t_40k_pascal-512x512.py']
tasks = ['edge']
model = dict(interaction=None, loss_weighting=dict(_delete_=True, type='FixedLossWeighting'))
# The boundary benchmark as the dataset's _base_ sets it: 11 thresholds in validation, the
# benchmark's 101 in the test (maxDist 0.0075, the evaluator's default).
val_evaluator = dict(
    _delete_=True, type='MultiTaskMetric', references=None, edge_max_dist=0.0075, edge_thresholds=11
)
test_evaluator = dict(_delete_=True, type='MultiTaskMetric', references=None, edge_max_dist=0.0075)
# The edge kind's main metric as validation names it (11 thresholds).
default_hooks = dict(checkpoint=dict(save_best='edge/odsF_t11', rule='greater'))
