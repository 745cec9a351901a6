"""Permutation tests over `scipy.stats.permutation_test`, for a difference in means.

`permutation_test_independent` is for independent groups (e.g. seeds of two methods);
`permutation_test_paired` is for aligned observations of the same units (e.g. two models'
per-example scores on the same test examples): it swaps the two values within each pair.
Both report a bootstrap CI of the difference; `ci_resamples=0` skips it (CI left as NaN).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from loralens.stats._checks import as_pair, as_sample, check_alternative, check_level
from loralens.stats.bootstrap import RngLike, bootstrap_ci
from loralens.stats.results import StatResult


def _mean_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def _mean_paired_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x - y, axis=axis)


def _mean(d: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(d, axis=axis)


def _permute(
    samples: tuple[np.ndarray, ...],
    ci_samples: tuple[np.ndarray, ...],
    *,
    paired: bool,
    alternative: str,
    n_resamples: int,
    confidence_level: float,
    ci_resamples: int,
    rng: RngLike,
) -> StatResult:
    """Run the permutation test and, unless disabled, the bootstrap CI of the estimate."""
    check_alternative(alternative)
    check_level(confidence_level, "confidence_level")
    gen = np.random.default_rng(rng)
    res = stats.permutation_test(
        samples,
        _mean_paired_difference if paired else _mean_difference,
        permutation_type="samples" if paired else "independent",
        vectorized=True,
        n_resamples=n_resamples,
        alternative=alternative,
        rng=gen,
    )
    low = high = math.nan
    if ci_resamples > 0:
        ci = bootstrap_ci(
            *ci_samples,
            statistic=_mean if paired else _mean_difference,
            confidence_level=confidence_level,
            n_resamples=ci_resamples,
            rng=gen,
        )
        low, high = ci.low, ci.high
    return StatResult(
        test=f"permutation test ({'paired' if paired else 'independent'})",
        alternative=alternative,
        estimate=float(res.statistic),
        estimate_label="mean(x - y)" if paired else "mean(a) - mean(b)",
        ci_low=low,
        ci_high=high,
        confidence_level=confidence_level,
        statistic=float(res.statistic),
        p_value=float(res.pvalue),
        n=(samples[0].size,) if paired else tuple(s.size for s in samples),
    )


def permutation_test_independent(
    a: Any,
    b: Any,
    /,
    *,
    alternative: str = "two-sided",
    n_resamples: int = 9999,
    confidence_level: float = 0.95,
    ci_resamples: int = 2000,
    rng: RngLike = None,
) -> StatResult:
    """Permutation test of mean(a) - mean(b) for independent groups, with a bootstrap CI."""
    x, y = as_sample(a, "a"), as_sample(b, "b")
    return _permute(
        (x, y),
        (x, y),
        paired=False,
        alternative=alternative,
        n_resamples=n_resamples,
        confidence_level=confidence_level,
        ci_resamples=ci_resamples,
        rng=rng,
    )


def permutation_test_paired(
    x: Any,
    y: Any,
    /,
    *,
    alternative: str = "two-sided",
    n_resamples: int = 9999,
    confidence_level: float = 0.95,
    ci_resamples: int = 2000,
    rng: RngLike = None,
) -> StatResult:
    """Paired permutation test of mean(x - y) (swaps within pairs), with a bootstrap CI."""
    # Only for genuinely paired observations (one example scored by two models), never for
    # seeds of different methods. Resampling the differences is resampling the pairs.
    u, v = as_pair(x, y)
    return _permute(
        (u, v),
        (u - v,),
        paired=True,
        alternative=alternative,
        n_resamples=n_resamples,
        confidence_level=confidence_level,
        ci_resamples=ci_resamples,
        rng=rng,
    )
