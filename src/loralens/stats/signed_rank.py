"""Wilcoxon signed-rank test and Hodges–Lehmann interval for paired log ratios (timing pairs).

The unit is a pair: an engine's call and its baseline's, timed side by side. A t-test on a
handful of per-pair log ratios has no protection against one bad pair (a transient that hit
the engine and not its baseline); the signed-rank test and the Hodges–Lehmann estimate (the
median of the Walsh averages (d_i + d_j) / 2, i <= j) give one wild pair the weight of one rank.

The interval is the exact distribution-free one: the Walsh averages between the order
statistics the signed-rank null distribution picks, so that the one-sided test at level a
rejects exactly when the 1 - 2a interval lies on one side of the null (no ties). The p-value
is scipy's (`scipy.stats.wilcoxon`: exact up to 50 pairs without zeros, else normal).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from loralens.stats._checks import as_positive_sample, check_level
from loralens.stats.results import StatResult

TEST_NAME = "Wilcoxon signed-rank on per-pair log ratios, Hodges–Lehmann interval"


def signed_rank_null(n: int) -> np.ndarray:
    """P(T+ = t) for t = 0 .. n(n+1)/2 under the null (no ties), exact. (M + 1,)"""
    counts = np.zeros(n * (n + 1) // 2 + 1, dtype=np.float64)
    counts[0] = 1.0
    for rank in range(1, n + 1):  # each rank is in the positive set or not
        counts[rank:] = counts[rank:] + counts[:-rank].copy()
    return counts / counts.sum()


def walsh_averages(d: np.ndarray) -> np.ndarray:
    """(d_i + d_j) / 2 for every i <= j, sorted. (n(n+1)/2,)"""
    i, j = np.triu_indices(d.size)
    return np.sort((d[i] + d[j]) / 2.0)


def hodges_lehmann(d: Any, confidence_level: float = 0.95) -> tuple[float, float, float]:
    """(estimate, low, high): the Hodges–Lehmann location of `d` and its exact interval.

    With too few values for the level (fewer than 6 at 95%), the interval is unbounded.
    """
    check_level(confidence_level, "confidence_level")
    x = np.asarray(d, dtype=np.float64)
    walsh = walsh_averages(x)
    estimate = float(np.median(walsh))
    tail = (1.0 - confidence_level) / 2.0
    cdf = np.cumsum(signed_rank_null(x.size))
    # c = the largest count with P(T+ <= c - 1) <= tail: the interval is [W_(c), W_(M + 1 - c)]
    c = int(np.searchsorted(cdf, tail, side="right"))
    if c == 0:
        return estimate, -math.inf, math.inf
    return estimate, float(walsh[c - 1]), float(walsh[walsh.size - c])


def paired_signed_rank_log_ratio(
    numerator: Any,
    denominator: Any,
    /,
    *,
    threshold: float = 1.0,
    alternative: str = "two-sided",
    confidence_level: float = 0.95,
) -> StatResult:
    """Signed-rank test of the per-pair log ratios log(numerator_i / denominator_i) against
    log(threshold); the estimate is exp(Hodges–Lehmann), with its interval, on the ratio scale."""
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold}")
    num = as_positive_sample(numerator, "numerator")
    den = as_positive_sample(denominator, "denominator")
    if num.size != den.size:
        raise ValueError(f"paired samples differ in length: {num.size} and {den.size}")
    logs = np.log(num) - np.log(den)  # (pairs,)
    shifted = logs - math.log(threshold)
    if np.all(shifted == 0):
        statistic, p_value = math.nan, 1.0
    else:
        res = stats.wilcoxon(shifted, alternative=alternative, zero_method="wilcox")
        statistic, p_value = float(res.statistic), float(res.pvalue)
    estimate, low, high = hodges_lehmann(logs, confidence_level)
    return StatResult(
        test=TEST_NAME,
        alternative=alternative,
        estimate=math.exp(estimate),
        estimate_label="exp(Hodges–Lehmann of log(numerator_i / denominator_i))",
        ci_low=math.exp(low),
        ci_high=math.exp(high),
        confidence_level=confidence_level,
        statistic=statistic,
        p_value=p_value,
        n=(int(logs.size),),
        null_value=float(threshold),
    )


def ratio_summary(numerator: Any, denominator: Any, confidence_level: float = 0.95) -> dict:
    """Per-pair ratio in words and numbers: HL median and interval, median, geometric mean."""
    num = as_positive_sample(numerator, "numerator")
    den = as_positive_sample(denominator, "denominator")
    logs = np.log(num) - np.log(den)  # (pairs,)
    estimate, low, high = hodges_lehmann(logs, confidence_level)
    return {
        "hodges_lehmann": math.exp(estimate),
        "ci_low": math.exp(low) if math.isfinite(low) else None,  # None: unbounded
        "ci_high": math.exp(high) if math.isfinite(high) else None,
        "confidence_level": confidence_level,
        "median": math.exp(float(np.median(logs))),
        "geometric_mean": math.exp(float(logs.mean())),
        "pairs": int(logs.size),
    }
