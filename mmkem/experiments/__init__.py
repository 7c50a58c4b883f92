"""Small experiments of the paper that run as one command (see docs/experiments.md)."""

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

__all__ = [
    'NoiseToyConfig',
    'NoiseToyData',
    'NoiseToyModel',
    'effective_attention',
    'measure',
    'noise_share',
    'run_noise_toy',
    'segment_mass',
    'train_model',
]
