"""Spectral statistics against matrices whose spectrum is known by construction."""

from __future__ import annotations

import json
import math

import pytest
import torch

from loralens.sparsity import (
    SparsityInputError,
    SpectrumSummary,
    effective_rank,
    energy_rank,
    numerical_rank,
    rank_utilisation,
    singular_values,
    stable_rank,
    summarize_delta,
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _orthonormal(n: int, k: int, seed: int) -> torch.Tensor:
    """An (n, k) matrix with orthonormal columns."""
    q, _ = torch.linalg.qr(torch.randn(n, k, generator=_gen(seed), dtype=torch.float64))
    return q


def with_spectrum(sigma: list[float], d_out: int = 12, d_in: int = 10) -> torch.Tensor:
    """A (d_out, d_in) matrix with singular values `sigma` (zeros beyond)."""
    k = len(sigma)
    s = torch.tensor(sigma, dtype=torch.float64)
    return _orthonormal(d_out, k, 1) @ torch.diag(s) @ _orthonormal(d_in, k, 2).T


@pytest.mark.parametrize("r", [1, 3, 7])
def test_random_product_has_numerical_rank_r(r: int) -> None:
    b = torch.randn(20, r, generator=_gen(r))  # (d_out, r)
    a = torch.randn(r, 16, generator=_gen(r + 100))  # (r, d_in)
    w = b @ a  # float32 product: pass a float32-scale tolerance
    assert numerical_rank(w.double(), rtol=1e-5) == r
    w64 = b.double() @ a.double()
    assert numerical_rank(w64) == r
    assert 1 <= energy_rank(w64, 0.9) <= energy_rank(w64, 0.99) <= r
    assert 1.0 <= stable_rank(w64) <= effective_rank(w64) <= r + 1e-9


@pytest.mark.parametrize("k", [1, 4, 9])
def test_equal_singular_values_give_full_effective_and_stable_rank(k: int) -> None:
    w = with_spectrum([2.5] * k)
    assert effective_rank(w) == pytest.approx(k, rel=1e-9)
    assert stable_rank(w) == pytest.approx(k, rel=1e-9)
    assert numerical_rank(w) == k
    # k equal values: the smallest j with j/k ≥ threshold
    assert energy_rank(w, 0.9) == math.ceil(0.9 * k - 1e-9)
    assert energy_rank(w, 0.99) == math.ceil(0.99 * k - 1e-9)


def test_rank_one_matrix() -> None:
    w = torch.outer(torch.randn(9, generator=_gen(3)), torch.randn(5, generator=_gen(4)))
    assert effective_rank(w) == pytest.approx(1.0, abs=1e-6)
    assert stable_rank(w) == pytest.approx(1.0, abs=1e-6)
    assert energy_rank(w, 0.99) == 1
    assert numerical_rank(w, rtol=1e-5) == 1


def test_known_spectrum_values() -> None:
    w = with_spectrum([3.0, 2.0, 1.0])
    torch.testing.assert_close(singular_values(w)[:3], torch.tensor([3.0, 2.0, 1.0]).double())
    p = torch.tensor([3.0, 2.0, 1.0], dtype=torch.float64) / 6
    assert effective_rank(w) == pytest.approx(math.exp(-(p * p.log()).sum().item()), rel=1e-9)
    assert stable_rank(w) == pytest.approx(14 / 9, rel=1e-9)
    # energies 9, 4, 1 of 14: 9/14 = 0.64 < 0.9 ≤ 13/14 = 0.93 < 0.99
    assert (energy_rank(w, 0.9), energy_rank(w, 0.99), energy_rank(w, 1.0)) == (2, 3, 3)
    assert numerical_rank(w) == 3
    assert numerical_rank(w, rtol=0.5) == 2  # 1.0 is not above 0.5 · 3.0


def test_zero_matrix_has_rank_zero_everywhere() -> None:
    s = summarize_delta(torch.zeros(6, 4), lora_rank=2)
    assert (s.effective_rank, s.stable_rank, s.energy_rank_90, s.numerical_rank) == (0, 0, 0, 0)
    assert s.rank_utilisation == 0.0


def test_summarize_delta_fields_and_to_dict() -> None:
    b, a = torch.randn(12, 4, generator=_gen(5)), torch.randn(4, 10, generator=_gen(6))
    delta = b.double() @ a.double()
    s = summarize_delta(delta, lora_rank=8)
    assert isinstance(s, SpectrumSummary)
    assert s.shape == (12, 10) and len(s.singular_values) == 10
    assert s.numerical_rank == 4
    assert s.effective_rank == pytest.approx(effective_rank(delta))
    assert s.rank_utilisation == pytest.approx(s.effective_rank / 8)
    assert s.rank_utilisation == pytest.approx(rank_utilisation(delta, 8))
    assert s.energy_rank_99_utilisation == s.energy_rank_99 / 8
    assert s.frobenius_norm == pytest.approx(float(torch.linalg.norm(delta)))
    assert s.spectral_norm == pytest.approx(float(torch.linalg.matrix_norm(delta, ord=2)))
    d = s.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["lora_rank"] == 8 and d["shape"] == [12, 10]
    with pytest.raises(AttributeError):
        s.effective_rank = 1.0  # type: ignore[misc]


def test_summary_without_lora_rank_has_no_ratios() -> None:
    s = summarize_delta(torch.randn(5, 7, generator=_gen(7)))
    assert s.lora_rank is None and s.rank_utilisation is None
    assert s.energy_rank_90_utilisation is None


BAD_MATRICES = {
    "1-D": (torch.ones(4), "2-D"),
    "3-D": (torch.ones(2, 3, 4), r"shape \(2, 3, 4\)"),
    "NaN": (torch.tensor([[1.0, float("nan")], [0.0, 1.0]]), "NaN/inf"),
    "inf": (torch.tensor([[1.0, float("inf")], [0.0, 1.0]]), "NaN/inf"),
    "empty": (torch.ones(0, 3), "empty"),
    "not a tensor": ([[1.0, 2.0]], "torch.Tensor"),
}


@pytest.mark.parametrize("case", BAD_MATRICES)
def test_bad_matrices_are_rejected(case: str) -> None:
    w, message = BAD_MATRICES[case]
    for fn in (singular_values, effective_rank, stable_rank, numerical_rank, summarize_delta):
        with pytest.raises(SparsityInputError, match=message):
            fn(w)


def test_bad_options_are_rejected() -> None:
    w = torch.randn(6, 4, generator=_gen(8))
    with pytest.raises(SparsityInputError, match=r"layer\.q: rank 5 exceeds min"):
        summarize_delta(w, lora_rank=5, name="layer.q")
    with pytest.raises(SparsityInputError, match="integer"):
        rank_utilisation(w, 0)
    with pytest.raises(SparsityInputError, match="threshold"):
        energy_rank(w, 1.5)
    with pytest.raises(SparsityInputError, match="rtol"):
        numerical_rank(w, rtol=-1.0)
    assert issubclass(SparsityInputError, ValueError)
