"""The signed-rank test and Hodges-Lehmann interval against known answers and scipy."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from loralens.stats.signed_rank import (
    hodges_lehmann,
    paired_signed_rank_log_ratio,
    ratio_summary,
    signed_rank_null,
)


def test_the_null_distribution_counts_every_sign_pattern() -> None:
    n = 6
    counts = np.zeros(n * (n + 1) // 2 + 1)
    for signs in itertools.product([0, 1], repeat=n):
        counts[sum(rank + 1 for rank, s in enumerate(signs) if s)] += 1
    assert np.allclose(signed_rank_null(n), counts / counts.sum())


def test_the_interval_excludes_a_value_exactly_when_scipy_rejects_it() -> None:
    rng = np.random.default_rng(0)
    for _ in range(500):
        d, null = rng.standard_t(3, 15), rng.normal(0.5, 0.5)
        p = stats.wilcoxon(d - null, alternative="less").pvalue
        _, _, high = hodges_lehmann(d, 0.95)
        assert (p < 0.025) == (high < null)


def test_known_answer_and_too_few_values() -> None:
    est, low, high = hodges_lehmann(np.arange(1.0, 11.0), 0.95)
    # Walsh averages of 1..10: median 5.5; the 95% bounds are the 9th smallest and largest
    # (P(T+ <= 8) = 0.024 for n = 10)
    assert (est, low, high) == (5.5, 3.0, 8.0)
    assert hodges_lehmann([1.0, 2.0, 3.0, 4.0, 5.0], 0.95)[1:] == (-math.inf, math.inf)
    assert ratio_summary([2.0] * 3, [1.0, 1.1, 0.9])["ci_high"] is None


def test_the_interval_covers_at_its_level_with_heavy_tails() -> None:
    rng = np.random.default_rng(1)
    hits = [hodges_lehmann(rng.standard_t(2, 20), 0.90) for _ in range(2000)]
    coverage = np.mean([lo <= 0 <= hi for _, lo, hi in hits])
    assert abs(coverage - 0.90) < 0.02


def test_a_planted_ratio_is_found_on_the_ratio_scale() -> None:
    rng = np.random.default_rng(2)
    base = np.exp(rng.normal(0, 0.3, 30))
    r = paired_signed_rank_log_ratio(
        1.2 * base * np.exp(rng.normal(0, 0.02, 30)), base, threshold=1.3, alternative="less"
    )
    assert r.ci_low < 1.2 < r.ci_high and r.estimate == pytest.approx(1.2, abs=0.01)
    assert r.p_value < 1e-5 and r.n == (30,)
