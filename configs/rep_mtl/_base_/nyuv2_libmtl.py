# NYUv2 as MTAN / LibMTL / Rep-MTL use it: 13 classes, 288x384, {train,val}/{image,label,depth,normal}/
# <i>.npy (LibMTLNYUv2Dataset; docs/datasets.md). Training augmentation as LibMTL's RandomScaleCrop:
# zoom by a random factor in [1, 1.5] and crop back to 288x384, depth divided by the zoom; no flip.
dataset_type = 'LibMTLNYUv2Dataset'
data_root = 'data/nyuv2_libmtl'
tasks = ['semseg', 'depth', 'normals']  # written once (docs/configs.md)
num_classes = dict(semseg=13)  # the heads' classes (LibMTLNYUv2Dataset.METAINFO: 13 classes)
crop_size = (288, 384)  # (h, w)

train_pipeline = [
    dict(type='LoadImageFromNpy'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='MultiTaskRandomResize', scale=(384, 288), ratio_range=(1.0, 1.5), keep_ratio=True),
    dict(type='MultiTaskRandomCrop', crop_size=crop_size),
    dict(type='PackMultiTaskInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromNpy'),
    dict(type='LoadMultiTaskAnnotations'),
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
# No single-task references: Δm / Δp need your own single-task runs (docs/rep_mtl.md, "Δp").
val_evaluator = dict(type='MultiTaskMetric', depth_rmse='pooled')
test_evaluator = val_evaluator
