"""ONNX export: KEM's fast form traces to plain operations, and an exported multi-task model
gives PyTorch's outputs and predictions under onnxruntime on a real photograph."""

import copy

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmkem  # noqa: F401
from mmkem.apis.onnx_export import (
    MultiTaskOnnxWrapper,
    activate_outputs,
    check_onnx,
    export_onnx,
    image_batch,
)
from mmkem.apis.photographs import packaged_photographs
from mmkem.models.layers import KEMCore
from mmkem.utils.image_io import read_image

pytest.importorskip('onnxruntime', reason='a test dependency: requirements/tests.txt')
init_default_scope('mmseg')

MODEL = dict(
    type='MultiTaskSegmentor',
    tasks=['semseg', 'depth', 'normals', 'edge'],
    data_preprocessor=dict(
        type='MultiTaskDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        size_divisor=32,
    ),
    backbone=dict(
        type='ResNetV1c', depth=18, stem_channels=8, base_channels=8, out_indices=(0, 1, 2, 3)
    ),
    feature_adapter=dict(
        type='FeatureAdapter', in_channels=[32, 64], in_index=[2, 3], out_index=2, channels=16
    ),
    task_encoder=dict(type='ViTBlocks', num_layers=1, num_heads=2, with_pos_embed=True),
    interaction=dict(type='KEM', num_slots=6, topk=3),  # impl='fast', the default
    heads=dict(type='DenseTaskHead', conv_channels=8),
    num_classes=dict(semseg=5),
)


def test_kem_fast_form_traces_to_plain_operations():
    """The fast form's autograd Function (NormedMatmul) is recorded operation by operation, so
    tracing and export need no switch to impl='plain'."""

    class Outputs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.core = KEMCore(embed_dims=16, num_slots=4, num_heads=2, topk=2)

        def forward(self, a, b):
            return tuple(self.core([a, b])[0])

    module = Outputs().eval()
    core = module.core
    assert core.impl == 'fast'
    tokens = (torch.randn(1, 12, 16), torch.randn(1, 12, 16))
    with torch.no_grad():
        traced = torch.jit.trace(module, tokens)
    assert 'PythonOp' not in str(traced.graph)  # no opaque Python call in the graph
    with torch.no_grad():
        for got, expected in zip(traced(*tokens), core(list(tokens))[0]):
            torch.testing.assert_close(got, expected)


def test_exported_model_matches_pytorch_on_a_photograph(tmp_path):
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(MODEL)).eval()
    wrapper = MultiTaskOnnxWrapper(model)
    image = read_image(packaged_photographs()['voc_rgb'], 'bgr')
    inputs = image_batch(image, (64, 96))
    assert inputs.shape == (1, 3, 64, 96)
    onnx_file = export_onnx(wrapper, inputs, str(tmp_path / 'model.onnx'))
    report = check_onnx(onnx_file, wrapper, inputs)
    assert sorted(report) == sorted(model.tasks)
    assert all(r['max_abs_diff'] <= r['tolerance'] for r in report.values())

    # the exported outputs, activated, are the segmentor's predictions of the same pixels
    import onnxruntime

    session = onnxruntime.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
    outputs = session.run(None, {'inputs': inputs.numpy()})
    preds = dict(zip(model.tasks, activate_outputs(model.tasks, outputs)))
    with torch.no_grad():
        data = model.data_preprocessor(dict(inputs=[inputs[0].to(torch.uint8)]), False)
        samples = model.predict(data['inputs'])
    for task in model.tasks:
        expected = samples[0].get(model.specs[task].pred_field).data.numpy()
        if task == 'semseg':
            assert (preds[task][0] == expected).mean() > 0.999
        else:
            np.testing.assert_allclose(preds[task][0], expected, atol=1e-4, err_msg=task)

    # a model that differs from what was exported fails the check, naming the task
    with torch.no_grad():
        model.heads['depth'].conv_out.bias += 1.0
    with pytest.raises(AssertionError, match='depth: max'):
        check_onnx(onnx_file, wrapper, inputs)
