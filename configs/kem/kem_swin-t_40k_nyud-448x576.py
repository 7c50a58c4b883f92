# KEM on NYUD-v2, the paper's setting: L = 20 slots, top-k = 3, AdamW lr 5e-5, poly, loss weights 1/1.
_base_ = [
    '../_base_/models/kem_swin-t.py',
    '../_base_/datasets/nyud.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_poly_40k.py',
]
