# KEM on PASCAL-Context (semseg, human parts, saliency) with the task interaction on a stride-8 token
# grid: 64 x 64 = 4096 tokens per task at 512x512 (n_s = 12288 for 3 tasks). The same high-resolution
# choices as the NYUD-v2 config (kem_swin-t-s8_40k_nyud-448x576.py; docs/models.md).
_base_ = ['./kem_swin-t_40k_pascal-512x512.py']
model = dict(
    feature_adapter=dict(
        in_channels=[192, 384, 768], in_index=[1, 2, 3], out_index=1, project_first=True
    ),
    task_encoder=dict(downsample=2),
    task_decoder=dict(downsample=2),
)
