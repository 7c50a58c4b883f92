# mmseg's UPerNet + ResNet-18 on ADE20K, with KEM between backbone and decode head.
_base_ = ['mmseg::upernet/upernet_r18_4xb4-80k_ade20k-512x512.py']
custom_imports = dict(imports=['mmkem'], allow_failed_imports=False)
model = dict(neck=dict(type='KEMMultiLevelNeck', in_channels=[64, 128, 256, 512], embed_dims=128))
# Atomic checkpoint writes (mmkem.engine.AtomicLocalBackend): a killed run never leaves a truncated file.
default_hooks = dict(
    checkpoint=dict(backend_args=dict(backend='atomic_local')),
    rng_state=dict(type='RNGStateHook'),  # exact --resume (mmkem.engine.RNGStateHook)
)
