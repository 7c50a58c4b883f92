"""RelationalReasoner: builds with each interaction module and without, pairs images and questions,
fuses the question into every token, grows the module's update from zero, trains."""

import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmkem  # noqa: F401
from mmkem.datasets.synthetic import generate_sort_of_clevr

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
INTERACTIONS = [
    None,
    dict(type='KEM', num_slots=6, topk=3),
    dict(type='SKEM', etf_mode='task_axis', num_slots=6, topk=3),
    dict(type='SKEM', etf_mode='feature', num_vertices=4, num_slots=6, topk=3),
    dict(type='TaskCrossAttention'),
]


@pytest.fixture(scope='module')
def batch():
    data = generate_sort_of_clevr(4, questions_per_family=3, seed=0)
    return dict(
        inputs=torch.from_numpy(data['images']).permute(0, 3, 1, 2).contiguous(),
        questions=torch.from_numpy(data['questions']).float(),
        answers=torch.from_numpy(data['answers']),
        families=torch.from_numpy(data['families']),
        subtypes=torch.from_numpy(data['subtypes']),
        colours=torch.from_numpy(data['colours']),
    )


def ids(cfg):
    return 'none' if cfg is None else cfg['type'] + cfg.get('etf_mode', '')


def build(interaction, **kwargs):
    init_default_scope('mmseg')
    cfg = dict(dict(type='RelationalReasoner', interaction=interaction, embed_dims=16), **kwargs)
    return MODELS.build(cfg)


@pytest.mark.parametrize('interaction', INTERACTIONS, ids=ids)
def test_builds_and_answers_each_question_independently(interaction, batch):
    model = build(interaction, num_blocks=2, layer_scale_init=0.5).eval()
    if interaction is None:
        assert model.interactions is None and model.layer_scales is None
    else:
        assert len(model.interactions) == 2
        assert all(type(m).__name__ == interaction['type'] for m in model.interactions)
        assert all(m.num_tasks == 2 for m in model.interactions)
    with torch.no_grad():
        logits = model(batch['inputs'], batch['questions'])
        assert logits.shape == (4, 6, 10)
        # encoding each image once and pairing it with all its questions is the same as asking
        # one question per image at a time (same images: the CNN's BatchNorm uses batch statistics)
        for j in [0, 4, 5]:
            alone = model(batch['inputs'], batch['questions'][:, j : j + 1])
            torch.testing.assert_close(alone[:, 0], logits[:, j], rtol=1e-4, atol=1e-5)
        preds = model(**batch, mode='predict')
    assert len(preds) == 4
    torch.testing.assert_close(preds[1]['pred_answers'], logits[1].argmax(-1))
    torch.testing.assert_close(preds[1]['families'], batch['families'][1])
    torch.testing.assert_close(preds[1]['colours'], batch['colours'][1])


def reference_forward(model, inputs, questions):
    """The model's forward written out for one block, from its parts."""
    batch, num_q = questions.shape[:2]
    feats = model.cnn(inputs.float() / 255)  # (B, C', 5, 5)
    ys = (torch.arange(5) + 0.5) / 5 * 2 - 1
    coords = torch.stack([ys[None].expand(5, 5), ys[:, None].expand(5, 5)])  # x, then y
    cells = torch.cat([feats, coords.expand(batch, -1, -1, -1)], 1).permute(0, 2, 3, 1)
    image = model.image_embed(cells).repeat_interleave(num_q, 0)  # (B*Q, 5, 5, C)
    q = questions.flatten(0, 1)[:, None, None]
    film = image * (1 + model.question_scale(q)) + model.question_embed(q)
    tokens = model.fusion_mlp(film)  # early fusion into every cell
    if model.interactions is not None:
        maps = [tokens.permute(0, 3, 1, 2), image.permute(0, 3, 1, 2)]
        out = model.interactions[0](maps)[0].permute(0, 2, 3, 1)
        tokens = tokens + model.layer_scales[0].gamma * (out - tokens)
    tokens = model.mlps[0](tokens)
    pooled = torch.cat([tokens.mean((1, 2)), tokens.amax((1, 2))], 1)
    return model.classifier(pooled).view(batch, num_q, -1)


@pytest.mark.parametrize('interaction', INTERACTIONS, ids=ids)
def test_forward_matches_the_written_out_reference(interaction, batch):
    model = build(interaction, layer_scale_init=0.3).eval()
    with torch.no_grad():
        if model.layer_scales is not None:
            model.layer_scales[0].gamma.uniform_(-1, 1)
        expected = reference_forward(model, batch['inputs'], batch['questions'])
        torch.testing.assert_close(model(batch['inputs'], batch['questions']), expected)


@pytest.mark.parametrize('interaction', INTERACTIONS[1:], ids=ids)
def test_zero_layer_scale_starts_as_the_control(interaction, batch):
    torch.manual_seed(0)
    control = build(None).eval()
    torch.manual_seed(1)
    model = build(interaction).eval()  # layer_scale_init=0 by default
    model.load_state_dict(control.state_dict(), strict=False)  # same weights outside the module
    assert torch.equal(model.layer_scales[0].gamma, torch.zeros(16))
    with torch.no_grad():
        torch.testing.assert_close(
            model(batch['inputs'], batch['questions']),
            control(batch['inputs'], batch['questions']),
        )
    # ... but the module is trained: the factor gets a gradient at the first step
    loss = model.train()(**batch, mode='loss')['loss_answer']
    loss.backward()
    assert model.layer_scales[0].gamma.grad.abs().sum() > 0


def test_module_reads_question_and_image_segments(batch):
    model = build(dict(type='SKEM', etf_mode='task_axis', num_slots=6, topk=3)).eval()
    seen = {}
    model.interactions[0].register_forward_hook(
        lambda mod, args, out: seen.update(feats=args[0], out=out)
    )
    with torch.no_grad():
        model(batch['inputs'], batch['questions'])
        image = model.encode_images(batch['inputs']).repeat_interleave(6, 0)
    question_tokens, image_tokens = seen['feats']
    assert question_tokens.shape == image_tokens.shape == (24, 16, 5, 5)
    # the second segment is the question-free image, the same for all questions of an image
    torch.testing.assert_close(image_tokens, image.permute(0, 3, 1, 2))
    assert not torch.allclose(question_tokens[0], question_tokens[1])


@pytest.mark.parametrize('interaction', INTERACTIONS, ids=ids)
def test_training_steps_lower_the_loss(interaction, batch):
    model = build(interaction, num_blocks=1, classifier_hidden=32)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        loss = model(**batch, mode='loss')['loss_answer']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], losses


def test_loss_is_cross_entropy(batch):
    model = build(INTERACTIONS[1]).eval()
    with torch.no_grad():
        logits = model(batch['inputs'], batch['questions'])
        out = model(**batch, mode='loss')
    log_probs = logits.log_softmax(-1)
    expected = -log_probs.gather(-1, batch['answers'].unsqueeze(-1)).mean()
    torch.testing.assert_close(out['loss_answer'], expected)
    expected_acc = (logits.argmax(-1) == batch['answers']).float().mean()
    torch.testing.assert_close(out['accuracy'], expected_acc)


def test_invalid_arguments(batch):
    with pytest.raises(ValueError, match='embed_dims'):
        build(INTERACTIONS[1], embed_dims=0)
    with pytest.raises(ValueError, match='num_blocks'):
        build(None, num_blocks=0)
    model = build(INTERACTIONS[1])
    with pytest.raises(ValueError, match='mode'):
        model(batch['inputs'], batch['questions'], mode='nope')
    with pytest.raises(ValueError, match='questions'):
        model(batch['inputs'], batch['questions'][0])


CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'sort_of_clevr', '*.py')))


def test_all_table_configs_present():
    names = {osp.basename(p) for p in CONFIGS}
    for method in ('none', 'kem', 'skem-task-axis', 'skem-feature', 'ca'):
        assert {f'{method}_sort-of-clevr.py', f'{method}_sort-of-clevr-lt.py'} <= names


@pytest.mark.parametrize('config', CONFIGS, ids=osp.basename)
def test_configs_build(config):
    cfg = Config.fromfile(config)
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    if osp.basename(config).startswith('none'):
        assert model.interactions is None
    else:
        assert model.interactions[0].num_tasks == 2
    long_tail = cfg.train_dataloader.dataset.long_tail
    if config.endswith('-lt.py'):
        assert long_tail == dict(target='colour', exponent=2.0)
    else:
        assert long_tail is None
    assert cfg.test_dataloader.dataset.long_tail is None  # the test split stays balanced
    assert cfg.test_dataloader.dataset.seed != cfg.train_dataloader.dataset.seed
