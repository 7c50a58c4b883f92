# As upernet_r50_kem, with sKEM's ETF on the retrieve logits ('feature' reading of eq. 7).
_base_ = ['./upernet_r50_kem_4xb4-80k_ade20k-512x512.py']
model = dict(neck=dict(mixer='skem', core_cfg=dict(num_vertices=8)))
# Atomic checkpoint writes (mmkem.engine.AtomicLocalBackend): a killed run never leaves a truncated file.
default_hooks = dict(
    checkpoint=dict(backend_args=dict(backend='atomic_local')),
    rng_state=dict(type='RNGStateHook'),  # exact --resume (mmkem.engine.RNGStateHook)
)
