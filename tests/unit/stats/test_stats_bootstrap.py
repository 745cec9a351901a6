"""Bootstrap CIs: BCa by default, percentile fallback, paired row resampling."""

from __future__ import annotations

import json

import numpy as np
import pytest

from loralens.stats import bootstrap_ci, bootstrap_paired_ci, bootstrap_rows_ci


def test_bca_by_default():
    rng = np.random.default_rng(0)
    x = rng.normal(10, 2, size=50)
    ci = bootstrap_ci(x, n_resamples=2000, rng=1)
    assert ci.method == "BCa"
    assert ci.estimate == pytest.approx(x.mean())
    assert ci.low < x.mean() < ci.high
    # Close to the t interval for a mean of normal data: half-width about 1.96 * 2 / sqrt(50).
    assert ci.high - ci.low == pytest.approx(2 * 1.96 * x.std(ddof=1) / np.sqrt(50), rel=0.2)


def test_percentile_fallback_when_bca_degenerate():
    ci = bootstrap_ci([0.8, 0.8, 0.8, 0.8], n_resamples=500, rng=0)
    assert ci.method == "percentile"
    assert (ci.low, ci.estimate, ci.high) == pytest.approx((0.8, 0.8, 0.8))


def test_two_independent_samples_and_json():
    rng = np.random.default_rng(2)
    a, b = rng.normal(1, 1, size=30), rng.normal(0, 1, size=40)

    def diff(x, y, axis=-1):
        return np.mean(x, axis=axis) - np.mean(y, axis=axis)

    ci = bootstrap_ci(a, b, statistic=diff, n_resamples=2000, rng=3)
    assert ci.low < a.mean() - b.mean() < ci.high
    assert ci.contains(ci.estimate)
    d = ci.to_dict()
    assert json.loads(json.dumps(d)) == d


def test_coverage_of_the_mean():
    # 200 intervals at 95% from samples of 30: binomial SE 0.015, accept 0.88 to 0.99.
    rng = np.random.default_rng(4)
    hits = sum(
        bootstrap_ci(rng.normal(0, 1, size=30), n_resamples=999, rng=rng).contains(0.0)
        for _ in range(200)
    )
    assert 0.88 <= hits / 200 <= 0.99


def _row_corr(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.corrcoef(x[:, 0], y[:, 0])[0, 1])


def test_paired_rows_are_resampled_together():
    # Y is a noisy copy of X row by row; the correlation survives only if rows stay aligned.
    rng = np.random.default_rng(5)
    x = rng.normal(size=(200, 3))
    y = x + 0.5 * rng.normal(size=(200, 3))
    ci = bootstrap_paired_ci(_row_corr, x, y, n_resamples=999, rng=6)
    assert ci.estimate == pytest.approx(_row_corr(x, y))
    assert 0.8 < ci.low < ci.estimate < ci.high < 0.95


def test_rows_ci_passes_integer_indices():
    seen: list[np.ndarray] = []
    values = np.arange(20.0)

    def stat(idx: np.ndarray) -> float:
        seen.append(idx)
        return float(values[idx].mean())

    ci = bootstrap_rows_ci(stat, 20, n_resamples=100, rng=0)
    assert all(np.issubdtype(i.dtype, np.integer) for i in seen)
    assert {len(i) for i in seen} <= {19, 20}  # resamples and BCa jackknife
    assert ci.estimate == pytest.approx(9.5)


def test_bad_input():
    with pytest.raises(ValueError, match="at least 2"):
        bootstrap_ci([1.0])
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_ci([1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="first dimension"):
        bootstrap_paired_ci(_row_corr, np.zeros((5, 2)), np.zeros((6, 2)))
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_paired_ci(_row_corr, np.full((5, 2), np.nan), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="method"):
        bootstrap_ci([1.0, 2.0, 3.0], method="studentized")
    with pytest.raises(ValueError, match="rows"):
        bootstrap_rows_ci(lambda idx: 0.0, 1)
