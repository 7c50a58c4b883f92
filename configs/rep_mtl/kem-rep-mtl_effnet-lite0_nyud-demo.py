# The README demo (KEM, frozen EfficientNet-Lite0, data/nyud_demo) with Rep-MTL added.
# Demo numbers are NOT NYUD-v2 numbers.
_base_ = ['../demo/kem_effnet-lite0_nyud-demo.py']
model = dict(
    interaction=dict(impl='plain'),
    regularizer=dict(type='RepMTLRegularizer', lambda_tsr=1.0, lambda_csa=1.0, temperature=0.1),
)
custom_hooks = [
    dict(type='MultiTaskVisualizationHook', max_samples=6),
    dict(type='MathSDPAHook'),
]
