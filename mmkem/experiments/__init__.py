"""Small experiments of the paper that run as one command (docs/experiments.md,
docs/sort_of_clevr.md); their command lines are in ``tools/experiments/``."""

from .noise_toy import (
    NoiseToyConfig,
    NoiseToyData,
    NoiseToyModel,
    effective_attention,
    measure,
    noise_share,
    run_noise_toy,
    segment_mass,
    train_model,
)
from .sort_of_clevr import run_table1

__all__ = [
    'NoiseToyConfig',
    'NoiseToyData',
    'NoiseToyModel',
    'effective_attention',
    'measure',
    'noise_share',
    'run_noise_toy',
    'run_table1',
    'segment_mass',
    'train_model',
]
