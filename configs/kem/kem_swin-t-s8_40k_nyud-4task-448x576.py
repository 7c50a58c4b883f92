# KEM on NYUD-v2 with 4 tasks (semseg, depth, normals, edge) and the task interaction on the
# stride-8 grid (n_s = 4 x 4032 = 16128 at 448x576): kem_swin-t-s8_40k_nyud-448x576.py with the
# task list of the multi-task literature's NYUD-v2 protocol and its loss weights 1 / 1 / 10 / 50
# (semseg, depth, normals, edge). Δm sums over the tasks with a reference in val_evaluator
# (semseg and depth here).
_base_ = ['./kem_swin-t-s8_40k_nyud-448x576.py']
tasks = ['semseg', 'depth', 'normals', 'edge']
model = dict(
    loss_weighting=dict(weights=dict(semseg=1.0, depth=1.0, normals=10.0, edge=50.0)),
)
