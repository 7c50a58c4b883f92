# KEM + Rep-MTL on NYUD-v2 (the paper's KEM model). Z is the feature adapter's output, which feeds
# the task encoders; the second-order path runs through encoders, KEM and decoders, so
# - KEM uses impl='plain' (the 'fast' one has a hand-written backward without a double
#   backward), and
# - MathSDPAHook runs training on the math attention kernel (the ViT blocks' fused kernels have
#   no double backward either).
_base_ = ['../kem/kem_swin-t_40k_nyud-448x576.py']
model = dict(
    interaction=dict(impl='plain'),
    regularizer=dict(type='RepMTLRegularizer', lambda_tsr=1.0, lambda_csa=1.0, temperature=0.1),
)
custom_hooks = [dict(type='MathSDPAHook')]
