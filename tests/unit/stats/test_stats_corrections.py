"""Holm and Bonferroni adjustments."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loralens.stats import adjust_pvalues, bonferroni, holm

P = [0.01, 0.04, 0.03, 0.005]


def test_holm_known_vector():
    # Sorted: 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04; then the running
    # maximum makes the last 0.06. Back in input order:
    res = holm(P, alpha=0.05)
    assert res.p_adjusted == pytest.approx((0.03, 0.06, 0.06, 0.02))
    assert res.reject == (True, False, False, True)
    assert res.p_values == tuple(P)


def test_bonferroni_known_vector():
    res = bonferroni([*P, 0.5], alpha=0.05)
    assert res.p_adjusted == pytest.approx((0.05, 0.2, 0.15, 0.025, 1.0))  # capped at 1
    # statsmodels rejects when p <= alpha / m, so 0.01 = 0.05 / 5 is rejected (adjusted 0.05).
    assert res.reject == (True, False, False, True, False)


def test_to_dict():
    d = holm(P).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["method"] == "holm"


@pytest.mark.parametrize("bad", [[], [0.1, np.nan], [0.1, 1.2], [[0.1, 0.2]]])
def test_bad_input(bad):
    with pytest.raises(ValueError):
        holm(bad)


def test_unknown_method():
    with pytest.raises(ValueError, match="method"):
        adjust_pvalues(P, method="fdr_bh")


# Few examples: statsmodels runs gc.collect() inside every multipletests call (~0.1 s).
@settings(max_examples=20, deadline=None, database=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=12))
def test_holm_between_raw_and_bonferroni(p):
    h, b = holm(p).p_adjusted, bonferroni(p).p_adjusted
    for raw, hv, bv in zip(p, h, b, strict=True):
        assert raw - 1e-12 <= hv <= bv + 1e-12 <= 1 + 1e-12
