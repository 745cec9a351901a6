"""Property tests on random shapes: rank bounds, invariances, intruder-count monotonicity."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from loralens.sparsity import (
    effective_rank,
    energy_rank,
    intruder_dimensions,
    lora_delta,
    numerical_rank,
    stable_rank,
    summarize_delta,
)

FAST = settings(max_examples=25, deadline=None)
dims = st.integers(min_value=2, max_value=24)
seeds = st.integers(min_value=0, max_value=2**31 - 1)


def _randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@FAST
@given(d_out=dims, d_in=dims, data=st.data(), seed=seeds)
def test_lora_delta_rank_bounds(d_out: int, d_in: int, data: st.DataObject, seed: int) -> None:
    r = data.draw(st.integers(min_value=1, max_value=min(d_out, d_in)), label="r")
    delta = lora_delta(_randn(r, d_in, seed=seed), _randn(d_out, r, seed=seed + 1), 2.0 * r, r)
    s = summarize_delta(delta, lora_rank=r)
    assert numerical_rank(delta, rtol=1e-9) == r
    assert 1 <= s.energy_rank_90 <= s.energy_rank_99 <= r
    # σ_1·erank ≥ Σσ ≥ ... gives 1 ≤ stable rank ≤ 1/p_max ≤ effective rank ≤ rank
    assert 1.0 - 1e-9 <= s.stable_rank <= s.effective_rank + 1e-9 <= r + 2e-9
    assert 0.0 < s.rank_utilisation <= 1.0 + 1e-9


@FAST
@given(d_out=dims, d_in=dims, seed=seeds, scale=st.floats(min_value=1e-3, max_value=1e3))
def test_rank_statistics_are_scale_transpose_and_rotation_invariant(
    d_out: int, d_in: int, seed: int, scale: float
) -> None:
    w = _randn(d_out, d_in, seed=seed)
    q_out, _ = torch.linalg.qr(_randn(d_out, d_out, seed=seed + 1))
    q_in, _ = torch.linalg.qr(_randn(d_in, d_in, seed=seed + 2))
    for other in (scale * w, w.T, q_out @ w @ q_in):
        assert effective_rank(other) == pytest.approx(effective_rank(w), rel=1e-7)
        assert stable_rank(other) == pytest.approx(stable_rank(w), rel=1e-7)
        assert energy_rank(other, 0.9) == energy_rank(w, 0.9)


@FAST
@given(d_out=dims, d_in=dims, data=st.data(), seed=seeds, spike=st.floats(0.0, 100.0))
def test_intruder_counts_are_bounded_and_monotone(
    d_out: int, d_in: int, data: st.DataObject, seed: int, spike: float
) -> None:
    k = data.draw(st.integers(min_value=1, max_value=min(d_out, d_in)), label="k")
    w = _randn(d_out, d_in, seed=seed)
    u, v = _randn(d_out, seed=seed + 1), _randn(d_in, seed=seed + 2)
    w_ft = w + spike * torch.outer(u / u.norm(), v / v.norm())
    counts = intruder_dimensions(w, w_ft, k=k)
    values = [counts[e] for e in sorted(counts)]
    assert values == sorted(values)
    assert all(0 <= c <= k for c in values)
    assert set(intruder_dimensions(w, w, k=k).values()) == {0}
    assert intruder_dimensions(2.0 * w, 2.0 * w_ft, k=k) == counts
