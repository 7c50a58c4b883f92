_base_ = ['./skem/skem_swin-t_40k_nyud-448x576.py']
