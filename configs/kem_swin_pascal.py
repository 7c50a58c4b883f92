# Entry point: KEM + frozen Swin-T on PASCAL-Context (semseg + human parts + saliency), the paper's
# setting.
#   python tools/train.py configs/kem_swin_pascal.py
# Data in data/PASCAL_MT (docs/pascal_context.md); weights: checkpoints/swin_tiny_patch4_window7_224_mmseg.pth
# (tools/model_converters/swin2mmseg.py).
_base_ = ['./kem/kem_swin-t_40k_pascal-512x512.py']
