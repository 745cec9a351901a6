"""The massive-activation diagnostic on planted data."""

import pytest
import torch

from loralens.metrics.dominance import DOMINATED_SHARE, dominance


def test_a_sink_divided_by_length_is_found_and_tied_to_length() -> None:
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(4, 40, (200,), generator=g)
    x = torch.randn(200, 16, generator=g, dtype=torch.float64)
    x[:, 7] += 500.0 / lengths  # the first token's spike, averaged over the input
    d = dominance(x, lengths)
    assert d.top_coord == 7 and d.top_pc_share > 0.95 and d.top_coord_share > 0.95
    assert d.length_corr > 0.99


def test_isotropic_data_has_no_dominant_component() -> None:
    x = torch.randn(500, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    d = dominance(x)
    assert d.top_pc_share < 0.15 and d.length_corr is None


def test_the_flag_weighs_directions_as_linear_cka_does() -> None:
    """Planted: variances 4, 1, 1, 1, 1, 1, 1 along orthogonal directions. The top direction
    holds 40% of the variance (under the flag) but 16/22 = 73% of ‖XᵀX‖²_F = Σλ², what linear
    CKA compares: flagged."""
    torch.manual_seed(0)
    n, scales = 4000, torch.tensor([2.0, 1, 1, 1, 1, 1, 1])  # SDs: variances 4, 1, ...
    noise = torch.randn(n, 7, dtype=torch.float64)
    z = torch.linalg.qr(noise - noise.mean(0))[0] * n**0.5  # centred, orthogonal columns
    rotation = torch.linalg.qr(torch.randn(7, 7, dtype=torch.float64))[0]
    x = (z * scales) @ rotation  # (n, 7), exact variances along rotated axes
    d = dominance(x)
    assert d.top_pc_share == pytest.approx(0.4, abs=1e-3)
    assert d.top_pc_cka_share == pytest.approx(16 / 22, abs=1e-3)
    assert d.top_pc_share < DOMINATED_SHARE < d.top_pc_cka_share
