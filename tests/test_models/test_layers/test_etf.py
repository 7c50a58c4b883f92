"""The simplex ETF of sKEM (eq. 6)."""

import pytest
import torch
import torch.nn.functional as F

from mmkem.models.layers import simplex_etf


@pytest.mark.parametrize('dim,k', [(2, 2), (3, 3), (16, 5), (64, 4)])
def test_etf_properties(dim, k):
    etf = simplex_etf(dim, k, seed=0).double()
    assert etf.shape == (dim, k)
    torch.testing.assert_close(etf.sum(1), torch.zeros(dim, dtype=torch.double), atol=1e-6, rtol=0)
    centering = torch.eye(k, dtype=torch.double) - 1.0 / k
    torch.testing.assert_close(etf.T @ etf, (k / (k - 1)) ** 2 * centering, atol=1e-6, rtol=0)
    # equiangular: all pairwise cosines between vertices (columns) are -1/(K-1)
    cols = F.normalize(etf, dim=0)
    cos = cols.T @ cols
    off = cos[~torch.eye(k, dtype=torch.bool)]
    torch.testing.assert_close(off, torch.full_like(off, -1.0 / (k - 1)), atol=1e-6, rtol=0)
    torch.testing.assert_close(simplex_etf(dim, k, seed=0), simplex_etf(dim, k, seed=0))
    assert not torch.allclose(simplex_etf(dim, k, seed=0), simplex_etf(dim, k, seed=1))


def test_etf_errors():
    with pytest.raises(ValueError, match='num_vertices'):
        simplex_etf(4, 1)
    with pytest.raises(ValueError, match='dim >= K'):
        simplex_etf(2, 3)
