# KEM on NYUD-v2 with the task interaction on a stride-8 token grid: 56 x 72 = 4032 tokens per task
# at 448x576 (n_s = 8064 for 2 tasks, 4x the paper's stride-16 grid), where cross-attention's
# n_s x n_s cost grows 16x and KEM's linear cost 4x (docs/models.md, "High-resolution interaction").
# What changes from the paper's model, and why (the cost a user would accept):
# - the shared map fuses Swin stages 2-4 (192 + 384 + 768 channels) at stage 2's stride 8; each level
#   is projected at its own resolution before the resize (project_first: the same map, several
#   times cheaper than upsampling 1344 channels first);
# - the 2-layer ViT encoders and decoders attend on the stride-16 grid: their blocks run on the map
#   average-pooled by 2 and their change is upsampled and added, so the fine detail of the stride-8
#   map reaches the interaction and the heads unchanged, at the paper's attention cost.
_base_ = ['./kem_swin-t_40k_nyud-448x576.py']
model = dict(
    feature_adapter=dict(
        in_channels=[192, 384, 768], in_index=[1, 2, 3], out_index=1, project_first=True
    ),
    task_encoder=dict(downsample=2),
    task_decoder=dict(downsample=2),
)
