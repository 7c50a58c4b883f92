# PASCAL-Context multi-task (the PASCAL_MT release of ASTMT / MTI-Net; see docs/pascal_context.md).
# Train: random rescale around 512 + 512x512 crop + flip (the paper's 512x512 input); test: the whole
# image (at most 500x500), padded to a multiple of 32 by the data preprocessor.
dataset_type = 'PASCALContextMTDataset'
data_root = 'data/PASCAL_MT'
# The task list, written once (docs/configs.md). Any subset of semseg, human_parts, sal, normals,
# edge; the paper uses the first three.
tasks = ['semseg', 'human_parts', 'sal']
# The heads' classes (PASCALContextMTDataset.METAINFO: 21 classes, 7 human parts).
num_classes = dict(semseg=21, human_parts=7)
crop_size = (512, 512)  # (h, w)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='MultiTaskRandomResize', scale=(512, 512), ratio_range=(0.75, 1.25), keep_ratio=True),
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
# Single-task references for Δm: MTFormer's Swin numbers, the paper's setting (ALGORITHMS.md). The
# paper's saliency numbers are saliency mIoU (docs/metrics.md), hence main_metrics.
val_evaluator = dict(
    type='MultiTaskMetric',
    main_metrics=dict(sal='mIoU'),
    references=dict(semseg=71.17, human_parts=63.90, sal=66.71),
    # Edges (when a config's tasks include them): the boundary benchmark with PASCAL-Context's
    # tolerance (maxDist 0.0075, SEISM as ASTMT / MTI-Net / InvPT ran it); validation on 11
    # thresholds (keys edge/odsF_t11, ...), the test on the benchmark's 101 (edge/odsF, oisF, AP).
    edge_max_dist=0.0075,
    edge_thresholds=11,
)
test_evaluator = dict(
    type='MultiTaskMetric',
    main_metrics=dict(sal='mIoU'),
    references=dict(semseg=71.17, human_parts=63.90, sal=66.71),
    edge_max_dist=0.0075,
)
