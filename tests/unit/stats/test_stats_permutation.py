"""Permutation tests, independent and paired."""

from __future__ import annotations

import json

import numpy as np
import pytest

from loralens.stats import permutation_test_independent, permutation_test_paired


def test_independent_exact_p_value():
    # 4 vs 4, completely separated: with C(8, 4) = 70 relabellings scipy enumerates them all,
    # and only the observed split and its mirror are as extreme: p = 2 / 70.
    res = permutation_test_independent([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], rng=0)
    assert res.p_value == pytest.approx(2 / 70)
    assert res.estimate == pytest.approx(-4.0)
    assert res.ci_low <= res.estimate <= res.ci_high
    assert res.n == (4, 4)


def test_paired_exact_p_value():
    # Five pairs, every difference negative: 2^5 sign patterns, two as extreme: p = 2 / 32.
    x = [1.0, 2.0, 3.0, 4.0, 5.0]
    y = [3.0, 4.0, 5.0, 6.0, 7.5]
    res = permutation_test_paired(x, y, rng=0)
    assert res.p_value == pytest.approx(2 / 32)
    assert res.estimate == pytest.approx(-2.1)
    assert res.n == (5,)
    d = res.to_dict()
    assert json.loads(json.dumps(d)) == d


def test_paired_detects_what_unpaired_misses():
    # A small consistent per-example gain hidden under large between-example variation.
    rng = np.random.default_rng(1)
    base = rng.normal(0, 5, size=40)
    x, y = base + 0.5 + rng.normal(0, 0.2, size=40), base
    assert permutation_test_paired(x, y, n_resamples=1999, rng=2).p_value < 0.01
    assert permutation_test_independent(x, y, n_resamples=1999, rng=2).p_value > 0.3


def test_one_sided():
    res = permutation_test_independent([5.0, 6.0, 7.0], [1.0, 2.0, 3.0], alternative="greater")
    assert res.p_value == pytest.approx(1 / 20)


def test_bad_input():
    with pytest.raises(ValueError, match="equal lengths"):
        permutation_test_paired([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="NaN"):
        permutation_test_independent([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least 2"):
        permutation_test_independent([1.0], [1.0, 2.0])
