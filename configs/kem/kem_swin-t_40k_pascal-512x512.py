# KEM on PASCAL-Context, the paper's setting: semseg + human parts + saliency, L = 20 slots,
# top-k = 3, AdamW lr 2.5e-5, poly, loss weights seg 1, parts 2, sal 30, 512x512 inputs.
_base_ = [
    '../_base_/models/kem_swin-t.py',
    '../_base_/datasets/pascal_context.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_poly_40k.py',
]
model = dict(
    loss_weighting=dict(weights=dict(semseg=1.0, human_parts=2.0, sal=30.0)),
)
optim_wrapper = dict(optimizer=dict(lr=2.5e-5))
