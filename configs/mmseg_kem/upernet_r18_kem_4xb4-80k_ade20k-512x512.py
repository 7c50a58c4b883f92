# mmseg's UPerNet + ResNet-18 on ADE20K, with KEM between backbone and decode head.
_base_ = ['mmseg::upernet/upernet_r18_4xb4-80k_ade20k-512x512.py']
custom_imports = dict(imports=['mmkem'], allow_failed_imports=False)
# mmseg's R18 config (unlike its R50 one) sets no data_preprocessor.size, and SegDataPreProcessor
# then stops at the first training batch ("only one of size and size_divisor should be valid"):
# pad every training batch to the crop size, as the R50 config does.
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    neck=dict(type='KEMMultiLevelNeck', in_channels=[64, 128, 256, 512], embed_dims=128),
)
# Atomic checkpoint writes (mmkem.engine.AtomicLocalBackend): a killed run never leaves a truncated file.
default_hooks = dict(
    checkpoint=dict(backend_args=dict(backend='atomic_local')),
    rng_state=dict(type='RNGStateHook'),  # exact --resume (mmkem.engine.RNGStateHook)
)
