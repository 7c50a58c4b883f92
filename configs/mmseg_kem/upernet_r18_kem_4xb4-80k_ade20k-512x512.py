# mmseg's UPerNet + ResNet-18 on ADE20K, with KEM between backbone and decode head.
_base_ = ['mmseg::upernet/upernet_r18_4xb4-80k_ade20k-512x512.py']
custom_imports = dict(imports=['mmkem'], allow_failed_imports=False)
model = dict(neck=dict(type='KEMMultiLevelNeck', in_channels=[64, 128, 256, 512], embed_dims=128))
