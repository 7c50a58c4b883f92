# The paper's model (Fig. 3): frozen Swin encoder -> per-task 2-layer ViT encoders -> KEM ->
# per-task 2-layer ViT decoders -> task heads. Swin-T as named in the paper (MTFormer's code uses
# Swin-S: swap in configs/_base_/models/ by changing embed_dims/depths/num_heads).
# Weights: convert the official or timm Swin-T checkpoint with
#   python tools/model_converters/swin2mmseg.py swin_tiny_patch4_window7_224.pth \
#       checkpoints/swin_tiny_patch4_window7_224_mmseg.pth
channels = 256  # d, the token width of the task branches and of KEM
data_preprocessor = dict(
    type='MultiTaskDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    size_divisor=32,
)
model = dict(
    type='MultiTaskSegmentor',
    # tasks and num_classes come from the config's top-level `tasks` / `num_classes` (the dataset
    # _base_ defines them; docs/configs.md).
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='SwinTransformer',
        pretrain_img_size=224,
        embed_dims=96,
        patch_size=4,
        window_size=7,
        mlp_ratio=4,
        depths=[2, 2, 6, 2],
        num_heads=[3, 6, 12, 24],
        strides=(4, 2, 2, 2),
        out_indices=(0, 1, 2, 3),
        qkv_bias=True,
        drop_path_rate=0.0,
        patch_norm=True,
        init_cfg=dict(
            type='Pretrained', checkpoint='checkpoints/swin_tiny_patch4_window7_224_mmseg.pth'
        ),
    ),
    freeze_backbone=True,
    # Stride-16 token grid from the last two Swin stages (384 + 768 channels).
    feature_adapter=dict(
        type='FeatureAdapter',
        in_channels=[384, 768],
        in_index=[2, 3],
        out_index=2,
        channels=channels,
    ),
    task_encoder=dict(type='ViTBlocks', num_layers=2, num_heads=8),
    # The task interaction between the encoders and decoders (num_tasks, in_channels filled in).
    interaction=dict(type='KEM', num_slots=20, topk=3),
    task_decoder=dict(type='ViTBlocks', num_layers=2, num_heads=8),
    heads=dict(type='DenseTaskHead'),
    loss_weighting=dict(type='FixedLossWeighting'),  # weight 1 per task: the paper's NYUD-v2
    train_cfg=dict(),
    test_cfg=dict(mode='whole'),
)
