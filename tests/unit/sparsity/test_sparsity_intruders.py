"""Intruder dimensions on bases with a known SVD and planted new directions."""

from __future__ import annotations

import pytest
import torch

from loralens.sparsity import (
    DEFAULT_EPSILONS,
    SparsityInputError,
    intruder_dimensions,
    intruder_dimensions_by_layer,
    max_base_similarity,
)

D = 64


def _orthogonal(n: int, seed: int) -> torch.Tensor:
    q, _ = torch.linalg.qr(
        torch.randn(n, n, generator=torch.Generator().manual_seed(seed)).double()
    )
    return q  # (n, n)


def _base(d: int = D, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(W_base, U, V): square, full rank, well-separated top singular values 10·0.8^i."""
    u, v = _orthogonal(d, seed), _orthogonal(d, seed + 1)
    sigma = 10 * 0.8 ** torch.arange(d, dtype=torch.float64) + 0.01
    return u @ torch.diag(sigma) @ v.T, u, v


def _assert_monotone(counts: dict[float, int]) -> None:
    values = [counts[e] for e in sorted(counts)]
    assert values == sorted(values)


def test_identical_and_rescaled_weights_have_no_intruders() -> None:
    w, _, _ = _base()
    assert set(intruder_dimensions(w, w).values()) == {0}
    assert set(intruder_dimensions(w, 3.0 * w).values()) == {0}
    assert list(intruder_dimensions(w, w)) == list(DEFAULT_EPSILONS)


def test_small_dense_update_has_no_intruders() -> None:
    """A full-fine-tuning-like small dense ΔW leaves the top singular vectors in place."""
    w, _, _ = _base()
    noise = torch.randn(D, D, generator=torch.Generator().manual_seed(9)).double()
    counts = intruder_dimensions(w, w + 1e-3 * noise)
    assert counts[0.5] == 0 and counts[0.9] == 0


def test_planted_delocalised_direction_is_found_at_the_right_threshold() -> None:
    """u spreads evenly over the 16 weakest base directions, so its max |cos| is 1/4.

    Row and column spaces of the spike and of the top base block are orthogonal, so the other nine
    top-10 singular vectors of W_ft are exactly base vectors (|cos| = 1).
    """
    w, u_base, v_base = _base()
    u = u_base[:, -16:].sum(dim=1) / 4  # (d_out,), unit norm
    v = v_base[:, -16:].sum(dim=1) / 4  # (d_in,), unit norm
    w_ft = w + 100.0 * torch.outer(u, v)
    similarity = max_base_similarity(w, w_ft, k=10)
    assert similarity.shape == (10,)
    assert similarity[0] == pytest.approx(0.25, abs=0.02)
    torch.testing.assert_close(similarity[1:], torch.ones(9, dtype=torch.float64))
    counts = intruder_dimensions(w, w_ft, k=10)
    assert counts == {0.1: 0, 0.2: 0, **{e: 1 for e in DEFAULT_EPSILONS[2:]}}


def test_planted_random_direction_is_an_intruder() -> None:
    """A random unit vector is far from every base singular vector in 128 dimensions."""
    d = 128
    w, _, _ = _base(d, seed=3)
    g = torch.Generator().manual_seed(4)
    u, v = torch.randn(d, generator=g).double(), torch.randn(d, generator=g).double()
    w_ft = w + 50.0 * torch.outer(u / u.norm(), v / v.norm())
    counts = intruder_dimensions(w, w_ft, k=10)
    _assert_monotone(counts)
    assert counts[0.1] == 0  # the max |cos| of a random direction is ~0.25, not below 0.1
    assert counts[0.5] >= 1
    assert all(0 <= c <= 10 for c in counts.values())


def test_by_layer_accepts_module_or_weight_keys() -> None:
    w, u_base, v_base = _base()
    spike = 100.0 * torch.outer(u_base[:, -16:].sum(dim=1) / 4, v_base[:, -16:].sum(dim=1) / 4)
    base = {"layers.0.q_proj.weight": w.float(), "layers.1.q_proj": w}
    deltas = {"layers.0.q_proj": spike, "layers.1.q_proj": torch.zeros(D, D)}
    counts = intruder_dimensions_by_layer(base, deltas, k=10, epsilons=(0.2, 0.5))
    assert counts == {"layers.0.q_proj": {0.2: 0, 0.5: 1}, "layers.1.q_proj": {0.2: 0, 0.5: 0}}


def test_bad_inputs_are_rejected() -> None:
    w, _, _ = _base()
    with pytest.raises(SparsityInputError, match=r"\(64, 64\).*\(64, 32\)"):
        intruder_dimensions(w[:, :32], w)
    with pytest.raises(SparsityInputError, match="k=65 exceeds"):
        intruder_dimensions(w, w, k=65)
    with pytest.raises(SparsityInputError, match="epsilons"):
        intruder_dimensions(w, w, epsilons=(0.5, 1.5))
    with pytest.raises(SparsityInputError, match="epsilons"):
        intruder_dimensions(w, w, epsilons=())
    with pytest.raises(SparsityInputError, match="NaN"):
        intruder_dimensions(w, w * float("nan"))
    with pytest.raises(SparsityInputError, match=r"mlp\.up_proj: no base weight"):
        intruder_dimensions_by_layer({}, {"mlp.up_proj": w})
    with pytest.raises(SparsityInputError, match=r"mlp\.up_proj: delta .*\(64, 8\)"):
        intruder_dimensions_by_layer({"mlp.up_proj": w}, {"mlp.up_proj": w[:, :8]})


def test_chance_level_matches_planted_random_directions() -> None:
    """Top singular vectors replaced by random directions: counts average to the chance level."""
    from loralens.sparsity.intruders import chance_intruders

    d, k, trials = 96, 4, 40
    w, _, _ = _base(d, seed=5)
    g = torch.Generator().manual_seed(6)
    totals = dict.fromkeys(DEFAULT_EPSILONS, 0.0)
    for _ in range(trials):
        q_u = torch.linalg.qr(torch.randn(d, k, generator=g).double())[0]  # (d, k) random
        q_v = torch.linalg.qr(torch.randn(d, k, generator=g).double())[0]
        w_ft = w + q_u @ torch.diag(torch.tensor([400.0, 300.0, 200.0, 100.0]).double()) @ q_v.T
        for e, c in intruder_dimensions(w, w_ft, k=k).items():
            totals[e] += c / trials
    chance = chance_intruders((d, d), k=k)
    for e in DEFAULT_EPSILONS:  # the mean of 40 trials of at most 4: within 0.5 of chance
        assert totals[e] == pytest.approx(chance[e], abs=0.5), e
    assert chance[0.1] < 1.0 < 3.9 < chance[0.4]  # the threshold sweep crosses chance here


def test_chance_level_depends_on_the_matrix_shape() -> None:
    from loralens.sparsity.intruders import chance_intruders

    q_proj, v_proj = chance_intruders((576, 576)), chance_intruders((192, 576))
    assert v_proj[0.2] < 5.0 < 9.9 < q_proj[0.2]  # a 192-row matrix's random vectors align more
    for chance in (q_proj, v_proj):
        values = [chance[e] for e in DEFAULT_EPSILONS]
        assert values == sorted(values) and values[0] >= 0 and values[-1] == pytest.approx(10)
