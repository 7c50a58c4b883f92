# NYUD-v2 multi-task (either release: 480x640 png or 448x576 jpg; see docs/datasets.md).
# Train: random rescale + 448x576 crop + flip (the common multi-task protocol's input size); test: the
# whole image, padded to a multiple of 32 by the data preprocessor.
dataset_type = 'NYUDv2Dataset'
data_root = 'data/NYUDv2'
# The task list, written once: the model, the datasets and the evaluator read it (docs/configs.md).
# Any subset of semseg, depth, normals, edge; the paper uses semseg and depth.
tasks = ['semseg', 'depth']
num_classes = dict(semseg=40)  # the heads' classes (NYUDv2Dataset.METAINFO: the 40 classes)
crop_size = (448, 576)  # (h, w)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='MultiTaskRandomResize', scale=(640, 480), ratio_range=(1.0, 1.5), keep_ratio=True),
    dict(type='MultiTaskRandomCrop', crop_size=crop_size),
    dict(type='MultiTaskRandomFlip', prob=0.5),
    dict(type='PackMultiTaskInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    # Edges are scored against the boundary benchmark's own ground truth (SEISM's seg2bmap of the
    # label map, docs/metrics.md), not the training edges; other tasks load as in training.
    dict(type='LoadMultiTaskAnnotations', decoders=dict(edge='seism_boundaries')),
    dict(type='PackMultiTaskInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', pipeline=test_pipeline),
)
test_dataloader = val_dataloader
# Single-task references for Δm: MTFormer's Swin numbers, the paper's setting (ALGORITHMS.md).
# Edges (when a config's tasks include them): the boundary benchmark with NYUD-v2's tolerance
# (maxDist 0.011 of the diagonal, SEISM as InvPT ran it); validation during training on 11
# thresholds (keys edge/odsF_t11, ...: named as not the benchmark's), the test on its 101
# (edge/odsF, oisF, AP). Options of kinds a config does not train are unused.
val_evaluator = dict(
    type='MultiTaskMetric',
    references=dict(semseg=47.96, depth=0.4972),
    edge_max_dist=0.011,
    edge_thresholds=11,
)
test_evaluator = dict(
    type='MultiTaskMetric', references=dict(semseg=47.96, depth=0.4972), edge_max_dist=0.011
)
