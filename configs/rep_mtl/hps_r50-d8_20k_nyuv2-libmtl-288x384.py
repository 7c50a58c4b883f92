# Hard-parameter-sharing baseline in the Rep-MTL / LibMTL NYUv2 setting: trainable dilated
# ResNetV1c-50 (output stride 8) shared by semseg (13 classes), depth and normals, one head per
# task. LibMTL's heads are DeepLabV3+ ASPP heads; ours are DenseTaskHead (conv-BN-ReLU + 1x1), so
# this is the setting, not the exact network. Schedule as LibMTL: Adam lr 1e-4, weight decay 1e-5,
# batch 8, 200 epochs of 795 images (~20k iterations), lr halved after half of them.
_base_ = [
    '../_base_/default_runtime.py',
    './_base_/nyuv2_libmtl.py',
]
channels = 256
norm_cfg = dict(type='BN', requires_grad=True)
max_iters = 20000
model = dict(
    type='MultiTaskSegmentor',
    data_preprocessor=dict(
        type='MultiTaskDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        size_divisor=32,
    ),
    backbone=dict(
        type='ResNetV1c',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        contract_dilation=True,
        # No download at run time: point this at a local ImageNet checkpoint in mmseg's layout.
        init_cfg=None,
    ),
    freeze_backbone=False,
    feature_adapter=dict(
        type='FeatureAdapter',
        in_channels=[1024, 2048],
        in_index=[2, 3],
        out_index=3,
        channels=channels,
    ),
    task_encoder=None,
    interaction=None,
    task_decoder=None,
    heads=dict(type='DenseTaskHead'),
    loss_weighting=dict(type='FixedLossWeighting'),
    test_cfg=dict(mode='whole'),
)
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, weight_decay=1e-5), clip_grad=None
)
param_scheduler = [
    dict(type='MultiStepLR', milestones=[max_iters // 2], gamma=0.5, by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=2000,
        max_keep_ckpts=3,
        backend_args=dict(backend='atomic_local'),  # no truncated checkpoint when killed
    ),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # The model's random stream survives --resume and is not shifted by validation.
    rng_state=dict(type='RNGStateHook'),
    visualization=dict(type='SegVisualizationHook'),
)
