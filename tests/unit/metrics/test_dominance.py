"""The massive-activation diagnostic on planted data."""

import torch

from loralens.metrics.dominance import dominance


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
