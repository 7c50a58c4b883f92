# Template for putting KEM into your own mmseg model: any mmseg backbone works as the shared encoder.
# Here mmseg's ResNetV1c-50, trained (not frozen), with KEM between per-task ViT branches.
# Copy this file and change `backbone` and `feature_adapter.in_channels` to your model's levels.
_base_ = ['./kem_swin-t_40k_nyud-448x576.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
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
    # Output stride 8 (dilated stages 3-4): fuse stages 3 and 4 (1024 + 2048 channels) at stride 8.
    feature_adapter=dict(in_channels=[1024, 2048], in_index=[2, 3], out_index=3),
)
# A trained backbone wants a larger learning rate than the paper's frozen-encoder 5e-5.
optim_wrapper = dict(optimizer=dict(lr=1e-4))
