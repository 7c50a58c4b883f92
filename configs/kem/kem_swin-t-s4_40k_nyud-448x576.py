# KEM on NYUD-v2 with the task interaction on a stride-4 token grid: 112 x 144 = 16128 tokens per
# task at 448x576 (n_s = 32256 for 2 tasks, 16x the paper's stride-16 grid; cross-attention's
# n_s x n_s cost grows 256x). As the stride-8 config (kem_swin-t-s8_40k_nyud-448x576.py), one level
# further: all four Swin stages fused at stride 4, each projected before the resize, and the ViT
# encoders and decoders on the map pooled by 4 (the stride-16 grid), their change upsampled and
# added (docs/models.md, "High-resolution interaction").
_base_ = ['./kem_swin-t_40k_nyud-448x576.py']
model = dict(
    feature_adapter=dict(
        in_channels=[96, 192, 384, 768], in_index=[0, 1, 2, 3], out_index=0, project_first=True
    ),
    task_encoder=dict(downsample=4),
    task_decoder=dict(downsample=4),
)
