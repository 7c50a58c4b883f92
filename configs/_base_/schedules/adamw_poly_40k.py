# AdamW + poly, iteration based. The paper gives the optimiser, the schedule type, the learning rate
# (5e-5 NYUD-v2, 2.5e-5 PASCAL-Context) and weight decay 1e-4; it does not give the number of
# iterations: 40k follows the common multi-task protocol and is our choice.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-5, betas=(0.9, 0.999), weight_decay=1e-4),
    clip_grad=None,
)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=40000, by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=40000, val_interval=4000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=4000,
        max_keep_ckpts=3,
        save_best='delta_m',
        rule='greater',
        # Atomic writes (mmkem.engine.AtomicLocalBackend): a run killed while saving leaves the
        # previous checkpoint intact instead of a truncated file.
        backend_args=dict(backend='atomic_local'),
    ),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # The model's random stream survives --resume and is not shifted by validation.
    rng_state=dict(type='RNGStateHook'),
    visualization=dict(type='SegVisualizationHook'),
)
