"""Cohen's d and Hedges' g with noncentral-t confidence intervals."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.meta_analysis import effectsize_smd

from loralens.stats import cohens_d, hedges_correction, hedges_g

A = [1.0, 2.0, 3.0, 4.0, 5.0]
B = [3.0, 4.0, 5.0, 6.0, 7.0]


def test_known_values():
    # Means 3 and 5, both variances 2.5, so the pooled SD is sqrt(2.5) and d = -2 / sqrt(2.5).
    d = -2 / math.sqrt(2.5)
    assert cohens_d(A, B).estimate == pytest.approx(d)
    # Hedges (1981): J = 1 - 3 / (4 * (5 + 5) - 9) = 28 / 31.
    assert hedges_correction(5, 5) == pytest.approx(28 / 31)
    assert hedges_g(A, B).estimate == pytest.approx(28 / 31 * d)


def test_hedges_g_matches_statsmodels():
    rng = np.random.default_rng(1)
    a, b = rng.normal(1, 2, size=7), rng.normal(0, 1, size=9)
    g, _ = effectsize_smd(a.mean(), a.std(ddof=1), a.size, b.mean(), b.std(ddof=1), b.size)
    assert hedges_g(a, b).estimate == pytest.approx(g)


def test_ci_inverts_the_noncentral_t():
    res = cohens_d(A, B, confidence_level=0.90)
    t = stats.ttest_ind(A, B).statistic
    scale = math.sqrt(1 / 5 + 1 / 5)
    # At the bounds, the observed t sits at the 95th / 5th percentile of the noncentral t.
    assert stats.nct.cdf(t, 8, res.ci_low / scale) == pytest.approx(0.95, abs=1e-6)
    assert stats.nct.cdf(t, 8, res.ci_high / scale) == pytest.approx(0.05, abs=1e-6)
    assert res.ci_low < res.estimate < res.ci_high
    assert res.ci_method == "noncentral t inversion"


def test_antisymmetric_and_json():
    ab, ba = hedges_g(A, B), hedges_g(B, A)
    assert ab.estimate == pytest.approx(-ba.estimate)
    assert ab.ci_low == pytest.approx(-ba.ci_high)
    d = ab.to_dict()
    assert json.loads(json.dumps(d)) == d


def test_ci_coverage():
    # The interval is exact under normality: about 95% of intervals cover the true delta.
    rng = np.random.default_rng(2)
    delta, n_exp = 0.8, 400
    hits = 0
    for _ in range(n_exp):
        res = cohens_d(rng.normal(delta, 1, 5), rng.normal(0, 1, 5))
        hits += res.ci_low <= delta <= res.ci_high
    # Binomial SE at 400 draws is 0.011: accept 0.92 to 0.98.
    assert 0.92 <= hits / n_exp <= 0.98


@pytest.mark.parametrize("delta", [0.0, 2.0, 4.0])
def test_hedges_g_interval_covers_delta_at_three_seeds(delta: float) -> None:
    """3 vs 3 seeds, the study's design: the printed interval covers delta at its level (the
    bounds scaled by J covered 0.89 / 0.87 at delta = 2 / 4)."""
    rng = np.random.default_rng(int(delta) + 7)
    n_exp = 2000
    draws = [hedges_g(rng.normal(delta, 1, 3), rng.normal(0, 1, 3)) for _ in range(n_exp)]
    hits = np.mean([r.ci_low <= delta <= r.ci_high for r in draws])
    assert abs(hits - 0.95) <= 0.02  # binomial SE at 2000 draws: 0.005


def test_bad_input():
    with pytest.raises(ValueError, match="zero variance"):
        hedges_g([1, 1, 1], [2, 2, 2])
    with pytest.raises(ValueError, match="at least 2"):
        cohens_d([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="NaN"):
        cohens_d([1.0, np.nan], [1.0, 2.0])
