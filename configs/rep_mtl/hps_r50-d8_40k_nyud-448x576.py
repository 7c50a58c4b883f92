# Hard-parameter-sharing (HPS) baseline, Rep-MTL's native setting: a trainable shared backbone
# (ResNetV1c-50, output stride 8) -> feature adapter (Z, the last shared layer) -> one head per task.
# No task encoders / decoders, no task interaction.
_base_ = ['../kem/kem_r50-d8_40k_nyud-448x576.py']
model = dict(task_encoder=None, interaction=None, task_decoder=None)
