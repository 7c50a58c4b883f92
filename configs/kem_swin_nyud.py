# Entry point: KEM + frozen Swin-T on NYUD-v2 (semseg + depth), the paper's setting.
#   python tools/train.py configs/kem_swin_nyud.py
# Data in data/NYUDv2 (docs/datasets.md); weights: checkpoints/swin_tiny_patch4_window7_224_mmseg.pth
# (tools/model_converters/swin2mmseg.py).
_base_ = ['./kem/kem_swin-t_40k_nyud-448x576.py']
