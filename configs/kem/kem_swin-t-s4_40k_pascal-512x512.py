# KEM on PASCAL-Context with the task interaction on a stride-4 token grid: 128 x 128 = 16384 tokens
# per task at 512x512 (n_s = 49152 for 3 tasks). The same high-resolution choices as the NYUD-v2
# stride-4 config (kem_swin-t-s4_40k_nyud-448x576.py; docs/models.md).
_base_ = ['./kem_swin-t_40k_pascal-512x512.py']
model = dict(
    feature_adapter=dict(
        in_channels=[96, 192, 384, 768], in_index=[0, 1, 2, 3], out_index=0, project_first=True
    ),
    task_encoder=dict(downsample=4),
    task_decoder=dict(downsample=4),
)
