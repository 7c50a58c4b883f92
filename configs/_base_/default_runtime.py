# Runtime shared by every mmkem config (mmseg's default_runtime plus the mmkem plugin import).
default_scope = 'mmseg'
custom_imports = dict(imports=['mmkem'], allow_failed_imports=False)
# mmengine's Runner after filling the config's `tasks` / `num_classes` into the model, datasets and
# evaluators (mmkem.engine.MultiTaskRunner; mmseg's tools/train.py builds it too).
runner_type = 'MultiTaskRunner'
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to gloo when no GPU is visible.
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='MultiTaskLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
