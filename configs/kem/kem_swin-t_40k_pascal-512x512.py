# KEM on PASCAL-Context, the paper's setting: semseg + human parts + saliency, L = 20 slots,
# top-k = 3, AdamW lr 2.5e-5, poly, loss weights seg 1, parts 2, sal 30, 512x512 inputs.
_base_ = [
    '../_base_/models/kem_swin-t.py',
    '../_base_/datasets/pascal_context.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_poly_40k.py',
]
tasks = ['semseg', 'human_parts', 'sal']
model = dict(
    tasks=tasks,
    neck=dict(num_tasks=3),
    # semseg has 21 classes here (the spec's default is NYUD-v2's 40); the others follow their spec.
    heads=dict(
        _delete_=True,
        semseg=dict(type='DenseTaskHead', out_channels=21),
        human_parts=dict(type='DenseTaskHead'),
        sal=dict(type='DenseTaskHead'),
    ),
    loss_weighting=dict(weights=dict(_delete_=True, semseg=1.0, human_parts=2.0, sal=30.0)),
)
optim_wrapper = dict(optimizer=dict(lr=2.5e-5))
