# HPS + Rep-MTL on NYUD-v2: TSR and CSA on the saliencies dL_t/dZ of the shared map Z (the feature
# adapter's output, which feeds every head). λ_tsr = λ_csa = 1, τ = 0.1 (docs/rep_mtl.md).
_base_ = ['./hps_r50-d8_40k_nyud-448x576.py']
model = dict(
    regularizer=dict(
        type='RepMTLRegularizer', lambda_tsr=1.0, lambda_csa=1.0, temperature=0.1, second_order=True
    )
)
