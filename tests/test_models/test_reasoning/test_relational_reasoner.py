"""RelationalReasoner: builds with each interaction module, pairs images and questions, trains."""

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
    )


def build(interaction, **kwargs):
    init_default_scope('mmseg')
    cfg = dict(type='RelationalReasoner', interaction=interaction, embed_dims=16, **kwargs)
    return MODELS.build(cfg)


@pytest.mark.parametrize(
    'interaction', INTERACTIONS, ids=lambda c: c['type'] + c.get('etf_mode', '')
)
def test_builds_and_answers_each_question_independently(interaction, batch):
    model = build(interaction, num_blocks=2).eval()
    assert len(model.interactions) == 2
    assert all(type(m).__name__ == interaction['type'] for m in model.interactions)
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


@pytest.mark.parametrize(
    'interaction', INTERACTIONS, ids=lambda c: c['type'] + c.get('etf_mode', '')
)
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


@pytest.mark.parametrize('pooling', ['mean', 'flatten'])
def test_loss_is_cross_entropy(batch, pooling):
    model = build(INTERACTIONS[0], pooling=pooling).eval()
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
        build(INTERACTIONS[0]).__class__(interaction=INTERACTIONS[0], embed_dims=0)
    model = build(INTERACTIONS[0])
    with pytest.raises(ValueError, match='pooling'):
        build(INTERACTIONS[0], pooling='max')
    with pytest.raises(ValueError, match='mode'):
        model(batch['inputs'], batch['questions'], mode='nope')
    with pytest.raises(ValueError, match='questions'):
        model(batch['inputs'], batch['questions'][0])


CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'sort_of_clevr', '*.py')))


def test_all_table_configs_present():
    names = {osp.basename(p) for p in CONFIGS}
    for method in ('kem', 'skem-task-axis', 'skem-feature', 'ca'):
        assert {f'{method}_sort-of-clevr.py', f'{method}_sort-of-clevr-lt.py'} <= names


@pytest.mark.parametrize('config', CONFIGS, ids=osp.basename)
def test_configs_build(config):
    cfg = Config.fromfile(config)
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    assert model.interactions[0].num_tasks == 2
    long_tail = cfg.train_dataloader.dataset.long_tail
    if config.endswith('-lt.py'):
        assert long_tail == dict(target='colour', exponent=2.0)
    else:
        assert long_tail is None
    assert cfg.test_dataloader.dataset.long_tail is None  # the test split stays balanced
    assert cfg.test_dataloader.dataset.seed != cfg.train_dataloader.dataset.seed
