# "KEM w/ CA" (cross-attention interaction) + Rep-MTL on NYUD-v2. TaskCrossAttention has a single
# implementation; MathSDPAHook makes its attention (and the ViT blocks') twice differentiable.
_base_ = ['../baselines/ca_swin-t_40k_nyud-448x576.py']
model = dict(
    regularizer=dict(type='RepMTLRegularizer', lambda_tsr=1.0, lambda_csa=1.0, temperature=0.1),
)
custom_hooks = [dict(type='MathSDPAHook')]
