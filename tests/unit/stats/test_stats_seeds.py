"""Across-seed comparisons: Welch, non-inferiority, Mann-Whitney, log-ratio test."""

from __future__ import annotations

import inspect
import json
import math

import numpy as np
import pytest
from scipy import stats

from loralens.stats import (
    log_ratio_test,
    mann_whitney_u,
    one_sample_t_test,
    welch_noninferiority,
    welch_t_test,
)

LORA = [0.842, 0.851, 0.838, 0.847, 0.845]
FULL = [0.861, 0.858, 0.866, 0.855]


def test_welch_matches_scipy():
    res = welch_t_test(LORA, FULL)
    ref = stats.ttest_ind(LORA, FULL, equal_var=False)
    assert res.p_value == pytest.approx(ref.pvalue)
    assert res.statistic == pytest.approx(ref.statistic)
    assert res.estimate == pytest.approx(np.mean(LORA) - np.mean(FULL))
    ci = ref.confidence_interval(0.95)
    assert (res.ci_low, res.ci_high) == pytest.approx((ci.low, ci.high))
    assert res.n == (5, 4)
    d = res.to_dict()
    assert json.loads(json.dumps(d)) == d


@pytest.mark.parametrize("alternative", ["less", "greater"])
def test_welch_one_sided(alternative):
    res = welch_t_test(LORA, FULL, alternative=alternative)
    ref = stats.ttest_ind(LORA, FULL, equal_var=False, alternative=alternative)
    assert res.p_value == pytest.approx(ref.pvalue)
    assert math.isfinite(res.ci_low) and math.isfinite(res.ci_high)  # CIs are two-sided


def test_noninferiority_is_a_shifted_one_sided_welch():
    margin = 0.03
    res = welch_noninferiority(LORA, FULL, margin=margin, alpha=0.05)
    shifted = stats.ttest_ind(np.add(LORA, margin), FULL, equal_var=False, alternative="greater")
    assert res.p_value == pytest.approx(shifted.pvalue)
    assert res.null_value == -margin
    assert res.confidence_level == pytest.approx(0.90)
    # Rejecting at alpha is the same as the 1 - 2 alpha CI's lower bound above -margin.
    assert (res.p_value < 0.05) == (res.ci_low > -margin)
    tight = welch_noninferiority(LORA, FULL, margin=0.005, alpha=0.05)
    assert (tight.p_value < 0.05) == (tight.ci_low > -0.005)
    assert tight.p_value > 0.05


def test_across_seed_api_cannot_pair():
    # No `paired` switch anywhere, unequal sizes accepted, seed-keyed mappings refused.
    for fn in (welch_t_test, welch_noninferiority, mann_whitney_u, log_ratio_test):
        assert "paired" not in inspect.signature(fn).parameters
    assert welch_t_test([1.0, 2.0, 3.0], [1.0, 2.0]).n == (3, 2)
    with pytest.raises(TypeError, match="mapping"):
        welch_t_test({0: 0.8, 1: 0.9}, {0: 0.7, 1: 0.75})
    # Shuffling one group (a different seed order) cannot change the result.
    ordered, shuffled = welch_t_test(LORA, FULL), welch_t_test(LORA[::-1], FULL)
    assert shuffled.p_value == pytest.approx(ordered.p_value)
    assert (shuffled.ci_low, shuffled.ci_high) == pytest.approx((ordered.ci_low, ordered.ci_high))


def test_mann_whitney_estimate_and_no_interval():
    a, b = [1.0, 2.0, 3.0, 4.0, 5.0], [3.5, 4.5, 5.5, 6.5, 7.5]
    res = mann_whitney_u(a, b)
    # Pairs with a > b: 4 > 3.5, 5 > 3.5, 5 > 4.5 -> U = 3 of 25.
    assert res.statistic == 3
    assert res.estimate == pytest.approx(3 / 25)
    assert res.p_value == pytest.approx(stats.mannwhitneyu(a, b).pvalue)
    # no interval is printed that would not cover (a seed bootstrap at 3 vs 3 covered 0.07-0.92)
    assert math.isnan(res.ci_low) and math.isnan(res.ci_high)


def test_log_ratio_test():
    lora, full = [0.10, 0.11, 0.09, 0.10], [0.20, 0.22, 0.18, 0.21]
    res = log_ratio_test(lora, full, threshold=0.8, alternative="less")
    gm = math.exp(np.mean(np.log(lora)) - np.mean(np.log(full)))
    assert res.estimate == pytest.approx(gm)
    assert res.ci_low < gm < res.ci_high
    ref = stats.ttest_ind(
        np.log(lora) - math.log(0.8), np.log(full), equal_var=False, alternative="less"
    )
    assert res.p_value == pytest.approx(ref.pvalue)
    with pytest.raises(ValueError, match="> 0"):
        log_ratio_test([0.0, 0.1], full)


@pytest.mark.parametrize(
    ("a", "b", "error", "message"),
    [
        ([1.0], [1.0, 2.0], ValueError, "at least 2"),
        ([1.0, np.nan], [1.0, 2.0], ValueError, "NaN"),
        ([[1.0, 2.0]], [1.0, 2.0], ValueError, "1-D"),
        ([1.0, 1.0], [2.0, 2.0], ValueError, "zero variance"),
    ],
)
def test_bad_input(a, b, error, message):
    with pytest.raises(error, match=message):
        welch_t_test(a, b)


def test_bad_options():
    with pytest.raises(ValueError, match="alternative"):
        welch_t_test(LORA, FULL, alternative="larger")
    with pytest.raises(ValueError, match="margin"):
        welch_noninferiority(LORA, FULL, margin=-0.01)


def test_one_sample_t_against_a_fixed_score_is_the_textbook_interval():
    # planted: mean 0.845 against 0.80; the interval is mean - ref ± t(0.95, n-1) * s / sqrt(n)
    res = one_sample_t_test(LORA, reference=0.80, alternative="greater", confidence_level=0.9)
    x = np.asarray(LORA) - 0.80
    half = stats.t.ppf(0.95, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    assert res.estimate == pytest.approx(x.mean())
    assert (res.ci_low, res.ci_high) == pytest.approx((x.mean() - half, x.mean() + half))
    assert res.p_value == pytest.approx(stats.ttest_1samp(LORA, 0.80, alternative="greater").pvalue)
    assert res.p_value < 0.05 and res.ci_low > 0  # the one-sided test and the near bound agree
    with pytest.raises(ValueError, match="zero variance"):
        one_sample_t_test([0.7, 0.7, 0.7], reference=0.6)
