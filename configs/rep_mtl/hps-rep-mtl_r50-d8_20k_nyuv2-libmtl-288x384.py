# Rep-MTL in its paper's NYUv2 setting (hard parameter sharing, 13 classes, 288x384): TSR + CSA on
# dL_t/dZ, Z = the shared map feeding the three heads. λ_tsr = λ_csa = 1, τ = 0.1.
_base_ = ['./hps_r50-d8_20k_nyuv2-libmtl-288x384.py']
model = dict(
    regularizer=dict(
        type='RepMTLRegularizer', lambda_tsr=1.0, lambda_csa=1.0, temperature=0.1, second_order=True
    )
)
