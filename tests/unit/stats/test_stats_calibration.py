"""Calibration: under the null each test rejects at about alpha; under an effect, Welch's power
matches the analytic power of statsmodels' TTestIndPower.

Every rate is a Monte-Carlo estimate from a fixed seed. With N experiments at true rate 0.05 the
standard error is sqrt(0.05 * 0.95 / N): 0.0049 at N = 2000, 0.0069 at N = 1000, so the window
[0.03, 0.07] is at least 2.9 standard errors wide on either side.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from loralens.stats import (
    achieved_power,
    mann_whitney_u,
    mcnemar_test,
    permutation_test_independent,
    permutation_test_paired,
    welch_noninferiority,
    welch_t_test,
)

# Monte-Carlo simulations of many studies: `make test` runs them, `make test-fast` skips them.
pytestmark = pytest.mark.slow

ALPHA = 0.05
LOW, HIGH = 0.03, 0.07


def _rejection_rate(one_experiment, n_experiments: int) -> float:
    return float(np.mean([one_experiment() for _ in range(n_experiments)]))


def test_welch_null_rate_with_unequal_variances():
    # Welch's reason to exist: unequal group sizes and variances, same mean.
    rng = np.random.default_rng(101)

    def experiment() -> bool:
        a, b = rng.normal(0, 1, size=8), rng.normal(0, 2, size=12)
        return welch_t_test(a, b).p_value < ALPHA

    assert LOW <= _rejection_rate(experiment, 2000) <= HIGH


def test_welch_noninferiority_rate_at_the_margin():
    # On the boundary of H0 (true difference exactly -margin) the one-sided test has size alpha.
    rng = np.random.default_rng(102)
    margin = 0.03

    def experiment() -> bool:
        lora, full = rng.normal(0.85 - margin, 0.01, size=6), rng.normal(0.85, 0.01, size=6)
        return welch_noninferiority(lora, full, margin=margin, alpha=ALPHA).p_value < ALPHA

    assert LOW <= _rejection_rate(experiment, 2000) <= HIGH


def test_mann_whitney_null_rate():
    # n = 20 per group: the U statistic is fine-grained enough for 0.05 to be attainable
    # (with 3 vs 3 seeds the smallest two-sided p-value is 0.1).
    rng = np.random.default_rng(103)

    def experiment() -> bool:
        a, b = rng.normal(size=20), rng.normal(size=20)
        return mann_whitney_u(a, b).p_value < ALPHA

    assert LOW <= _rejection_rate(experiment, 2000) <= HIGH


def _paired_correctness(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    # Cells: both right, only a right, only b right, both wrong; equal discordant rates = H0.
    cells = rng.choice(4, size=n, p=[0.6, 0.15, 0.15, 0.1])
    return np.isin(cells, (0, 1)), np.isin(cells, (0, 2))


def test_mcnemar_null_rate():
    # 200 examples give about 60 discordant pairs, so the default is the chi-square test and
    # 0.05 is attainable; with a handful of discordant pairs only coarse levels exist.
    rng = np.random.default_rng(104)

    def experiment() -> bool:
        return mcnemar_test(*_paired_correctness(rng, 200)).p_value < ALPHA

    assert LOW <= _rejection_rate(experiment, 2000) <= HIGH


def test_mcnemar_exact_never_exceeds_alpha():
    # The exact (binomial) test is conservative by construction: its size is at most alpha.
    rng = np.random.default_rng(105)

    def experiment() -> bool:
        return mcnemar_test(*_paired_correctness(rng, 200), exact=True).p_value < ALPHA

    assert _rejection_rate(experiment, 2000) <= HIGH


def test_permutation_independent_null_rate():
    # p-values of a randomized permutation test are (k + 1) / (B + 1): rejecting at p <= alpha
    # has size alpha, so <= (with a float tolerance) is the right comparison here.
    rng = np.random.default_rng(106)

    def experiment() -> bool:
        a, b = rng.normal(size=10), rng.normal(size=10)
        p = permutation_test_independent(a, b, n_resamples=999, ci_resamples=0, rng=rng).p_value
        return p <= ALPHA + 1e-12

    assert LOW <= _rejection_rate(experiment, 1000) <= HIGH


def test_permutation_paired_null_rate():
    rng = np.random.default_rng(107)

    def experiment() -> bool:
        x, y = rng.normal(size=20), rng.normal(size=20)
        p = permutation_test_paired(x, y, n_resamples=999, ci_resamples=0, rng=rng).p_value
        return p <= ALPHA + 1e-12

    assert LOW <= _rejection_rate(experiment, 1000) <= HIGH


# The last column allows for a real difference: TTestIndPower computes the power of the pooled
# t-test (df = 2n - 2), while Welch's df is estimated and smaller, which costs power at small n.
# Measured with 200,000 simulations: Welch 0.694 vs analytic 0.693 at d = 0.8, n = 20; Welch
# 0.632 vs analytic 0.650 at d = 1.5, n = 6.
@pytest.mark.parametrize(("effect", "n", "welch_gap"), [(0.8, 20, 0.005), (1.5, 6, 0.025)])
def test_welch_power_matches_ttestindpower(effect: float, n: int, welch_gap: float):
    rng = np.random.default_rng(108)
    n_experiments = 3000

    def experiment() -> bool:
        a, b = rng.normal(effect, 1, size=n), rng.normal(0, 1, size=n)
        return welch_t_test(a, b).p_value < ALPHA

    empirical = _rejection_rate(experiment, n_experiments)
    expected = achieved_power(effect, n, alpha=ALPHA)
    # Monte-Carlo error: 3.5 standard errors of a binomial proportion (about 0.03 here).
    tolerance = 3.5 * math.sqrt(expected * (1 - expected) / n_experiments) + welch_gap
    assert abs(empirical - expected) <= tolerance
