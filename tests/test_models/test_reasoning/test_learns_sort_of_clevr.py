"""The control model (no interaction module) leaves the colour-blind plateau in a short budget.

A Sort-of-CLEVR model that never reads the colour a question names stops at about 66% (62% on the
non-relational questions): the score of knowing only the question type and scene-wide counts
(docs/sort_of_clevr.md). This trains the control row of Table 1 for a short schedule (one thread,
well under a minute on this machine) and asserts that it answers the non-relational questions
(above 90%) and that it does so by reading the colour: with the colour each question names
replaced by another one, that accuracy falls to about chance.
"""

import math

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmkem  # noqa: F401
from mmkem.datasets.synthetic import generate_sort_of_clevr

STEPS = 3000
IMAGES_PER_STEP = 8
LR = 2e-3
NONREL_ONLY = True
SEED = 0


def tensors(data, questions=slice(None)):
    return (
        torch.from_numpy(data['images']).permute(0, 3, 1, 2).contiguous(),
        torch.from_numpy(data['questions'][:, questions]).float(),
        torch.from_numpy(data['answers'][:, questions]),
    )


def non_relational_accuracy(model, images, questions, answers, families):
    with torch.no_grad():
        preds = torch.cat(
            [model(images[i : i + 50], questions[i : i + 50]).argmax(-1) for i in range(0, 200, 50)]
        )
    correct = (preds == answers)[families == 0]
    return 100.0 * correct.float().mean().item()


@pytest.mark.filterwarnings('ignore::UserWarning')
def test_control_leaves_the_colour_blind_plateau():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(SEED)
        init_default_scope('mmseg')
        model = MODELS.build(dict(type='RelationalReasoner', interaction=None))
        # NONREL_ONLY: train on the 5 non-relational questions of each image only
        train = generate_sort_of_clevr(2000, 5, seed=0)
        images, questions, answers = tensors(train, slice(0, 5) if NONREL_ONLY else slice(None))
        test = generate_sort_of_clevr(200, 5, seed=1)
        t_images, t_questions, t_answers = tensors(test)
        families = torch.from_numpy(test['families'])
        optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=1e-4)
        warmup = STEPS // 20

        def lr_factor(step):
            if step < warmup:
                return 0.1 + 0.9 * step / warmup
            return 0.5 * (1 + math.cos(math.pi * (step - warmup) / (STEPS - warmup)))

        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
        order = np.random.default_rng(0).permutation(np.tile(np.arange(2000), 12))
        for step in range(STEPS):
            idx = torch.from_numpy(order[step * IMAGES_PER_STEP : (step + 1) * IMAGES_PER_STEP])
            loss = model(images[idx], questions[idx], answers[idx], mode='loss')['loss_answer']
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        model.eval()
        accuracy = non_relational_accuracy(model, t_images, t_questions, t_answers, families)
        # the same questions naming another colour (answers kept): the model reads the colour
        colours = t_questions[..., :6].argmax(-1)
        other = (
            colours + torch.randint(1, 6, colours.shape, generator=torch.Generator().manual_seed(0))
        ) % 6
        shuffled = t_questions.clone()
        shuffled[..., :6] = torch.nn.functional.one_hot(other, 6).float()
        blind = non_relational_accuracy(model, t_images, shuffled, t_answers, families)
    finally:
        torch.set_num_threads(threads)
    assert accuracy > 90.0, f'non-relational accuracy {accuracy:.1f}% after {STEPS} steps'
    assert blind < 70.0, f'{blind:.1f}% with shuffled colours (against {accuracy:.1f}%)'
