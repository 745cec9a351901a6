"""Blocked symmetric products: the same numbers as the plain GEMM, at every block count."""

from __future__ import annotations

import pytest
import torch

from loralens.metrics._products import (
    MIN_BLOCK,
    full_gram,
    gram_blocks,
    sq_norm_gram,
    sq_norm_gram_and_dot,
)


@pytest.mark.parametrize("k", [5, MIN_BLOCK * 2, MIN_BLOCK * 3 + 7, MIN_BLOCK * 4 + 3])
def test_blocked_gram_matches_plain_product(k: int) -> None:
    g = torch.Generator().manual_seed(k)
    z = torch.randn(12, k, generator=g, dtype=torch.float64)
    partner = torch.randn(k, k, generator=g, dtype=torch.float64)
    partner = partner + partner.T
    plain = z.T @ z  # (k, k)
    n_blocks = sum(1 for _, _, _, w in gram_blocks(z) if w == 1.0)
    assert n_blocks == min(4, max(1, k // MIN_BLOCK))
    assert torch.allclose(full_gram(z), plain, rtol=0, atol=1e-12)
    sq, dot = sq_norm_gram_and_dot(z, partner)
    assert float(sq) == pytest.approx(float((plain * plain).sum()), rel=1e-13)
    assert float(dot) == pytest.approx(float((plain * partner).sum()), rel=1e-12)
    assert float(sq_norm_gram(z)) == pytest.approx(float(sq), rel=1e-15)


def test_blocked_gram_works_on_transposed_views() -> None:
    y = torch.randn(
        MIN_BLOCK * 3, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    assert torch.allclose(full_gram(y.T), y @ y.T, rtol=0, atol=1e-12)
