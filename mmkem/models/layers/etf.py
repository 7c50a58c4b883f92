"""The fixed simplex equiangular tight frame (ETF) of sKEM (paper eq. 6)."""

import torch
from torch import Tensor

__all__ = ['simplex_etf']


def simplex_etf(dim: int, num_vertices: int, seed: int = 0) -> Tensor:
    """Build the paper's ETF matrix ``W* = K/(K-1) U (I_K - 1 1^T / K)``.

    ``U`` (``dim x K``, ``U^T U = I_K``) is the Q factor of a QR decomposition of a standard normal
    matrix drawn from a generator seeded with ``seed``, with the signs fixed so that the diagonal of
    the R factor is positive: the same seed gives the same matrix on every machine and torch version
    that draws the same normal numbers. Consequences used by sKEM and checked by the tests: every
    row of ``W*`` sums to zero, and ``W*^T W* = (K/(K-1))^2 (I_K - 1 1^T / K)``.

    The paper's factor ``K/(K-1)`` is kept (ETF classifiers in the neural-collapse literature use
    ``sqrt(K/(K-1))``); it only scales the logits.

    Args:
        dim (int): Number of rows ``d`` of ``W*``; must be >= ``num_vertices``.
        num_vertices (int): Number of ETF vertices ``K``; must be >= 2.
        seed (int): Seed of the random matrix ``U`` is taken from. Defaults to 0.

    Returns:
        Tensor: ``W*`` of shape ``(dim, num_vertices)``, float32.
    """
    if num_vertices < 2:
        raise ValueError(f'num_vertices (K) must be >= 2 for an ETF, got {num_vertices}')
    if dim < num_vertices:
        raise ValueError(
            f'an ETF with K={num_vertices} vertices needs dim >= K orthonormal directions, '
            f'got dim={dim}'
        )
    generator = torch.Generator().manual_seed(seed)
    gauss = torch.randn(dim, num_vertices, generator=generator, dtype=torch.float64)
    u, r = torch.linalg.qr(gauss)
    u = u * torch.sign(torch.diagonal(r)).where(torch.diagonal(r) != 0, torch.ones(()))
    k = num_vertices
    centering = torch.eye(k, dtype=torch.float64) - torch.full((k, k), 1.0 / k, dtype=torch.float64)
    return (k / (k - 1) * u @ centering).float()
