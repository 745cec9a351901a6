"""Debiased CKA inference: exact leave-one-out values, the pair's permutation null, and the
coverage of the jackknife interval against the exact population CKA of Gaussian data."""

import pytest
import torch

from loralens.metrics import MetricInputError, linear_cka
from loralens.metrics.cka_inference import (
    debiased_cka_interval,
    debiased_cka_leave_one_out,
    gram_terms,
    permutation_null,
    population_cka,
)


def _pair(n: int = 30, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g, dtype=torch.float64) + 3.0
    y = x @ torch.randn(8, 5, generator=g, dtype=torch.float64)
    return x, y + torch.randn(n, 5, generator=g, dtype=torch.float64)


def test_leave_one_out_is_exact() -> None:
    x, y = _pair()
    fast = debiased_cka_leave_one_out(gram_terms(x), gram_terms(y))
    drop = [torch.cat([t[:i], t[i + 1 :]]) for t in (x, y) for i in range(30)]
    slow = torch.stack([linear_cka(drop[i], drop[30 + i], debiased=True) for i in range(30)])
    assert torch.allclose(fast, slow, atol=1e-12, rtol=0)


def test_estimate_is_debiased_cka_and_inside_its_interval() -> None:
    x, y = _pair()
    ci = debiased_cka_interval(x, y)
    assert ci.estimate == pytest.approx(float(linear_cka(x, y, debiased=True)), abs=1e-12)
    assert ci.low < ci.estimate < ci.high and ci.se > 0


def test_permutation_null_shuffles_the_second_representation() -> None:
    x, y = _pair()
    null = permutation_null(gram_terms(x), gram_terms(y), 3, torch.Generator().manual_seed(5))
    gen = torch.Generator().manual_seed(5)
    slow = [
        float(linear_cka(x, y[torch.randperm(30, generator=gen)], debiased=True)) for _ in "abc"
    ]
    assert null.tolist() == pytest.approx(slow, abs=1e-6)  # summed in float32


def test_too_few_rows_is_a_clear_error() -> None:
    with pytest.raises(MetricInputError, match="at least 5 rows"):
        gram_terms(torch.randn(4, 3))


def _coverage(n: int, reps: int, seed: int, d: int = 32) -> tuple[float, float]:
    """Share of 95% intervals holding the population CKA of y = xW + noise, x ~ N(0, S)."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(d, d, generator=g, dtype=torch.float64) / d**0.5
    s = a @ a.T + torch.eye(d, dtype=torch.float64)
    w = torch.randn(d, d, generator=g, dtype=torch.float64) / d**0.5
    cov_yy = w.T @ s @ w + torch.eye(d, dtype=torch.float64)
    truth = population_cka(s, cov_yy, s @ w)
    chol = torch.linalg.cholesky(s)
    hits = 0
    for _ in range(reps):
        x = torch.randn(n, d, generator=g, dtype=torch.float64) @ chol.T
        y = x @ w + torch.randn(n, d, generator=g, dtype=torch.float64)
        ci = debiased_cka_interval(x, y)
        hits += ci.low <= truth <= ci.high
    return hits / reps, truth


@pytest.mark.parametrize(("n", "reps"), [(96, 400), (256, 400), (1000, 150)])
def test_jackknife_interval_covers_the_population_cka(n: int, reps: int) -> None:
    coverage, truth = _coverage(n, reps, seed=n)
    assert 0.3 < truth < 0.8  # a CKA far from both ends, where bias would show
    assert abs(coverage - 0.95) <= 0.03, f"coverage {coverage:.3f} at n={n}"
