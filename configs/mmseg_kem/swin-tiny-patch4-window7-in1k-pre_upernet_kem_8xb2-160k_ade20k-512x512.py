# mmseg's UPerNet + Swin-T on ADE20K, with KEM between backbone and decode head.
_base_ = ['mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py']
custom_imports = dict(imports=['mmkem'], allow_failed_imports=False)
model = dict(
    neck=dict(
        type='KEMMultiLevelNeck',
        in_channels=[96, 192, 384, 768],
        embed_dims=192,
        zero_init_output=True,  # starts as the identity on top of the ImageNet-pretrained Swin
    )
)
# Atomic checkpoint writes (mmkem.engine.AtomicLocalBackend): a killed run never leaves a truncated file.
default_hooks = dict(
    checkpoint=dict(backend_args=dict(backend='atomic_local')),
    rng_state=dict(type='RNGStateHook'),  # exact --resume (mmkem.engine.RNGStateHook)
)
