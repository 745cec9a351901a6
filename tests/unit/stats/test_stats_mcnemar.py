"""McNemar's test against published examples, and its input handling."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from loralens.stats import mcnemar_from_predictions, mcnemar_from_table, mcnemar_test


def test_agresti_presidential_approval():
    # Agresti (1990), Categorical Data Analysis, p. 350 (also the example of R's
    # mcnemar.test): approval of the president in two surveys of the same 1600 people.
    # Published: z^2 = (86 - 150)^2 / (86 + 150) = 17.36, p = 3.1e-05 (no continuity correction).
    res = mcnemar_from_table([[794, 150], [86, 570]])
    assert not res.exact
    assert res.statistic == pytest.approx(17.3559, abs=1e-4)
    assert res.p_value == pytest.approx(3.099e-05, rel=1e-3)
    # Approval fell from 944/1600 = 0.59 to 880/1600 = 0.55.
    assert res.estimate == pytest.approx(0.04)
    assert res.ci_low < 0.04 < res.ci_high
    assert res.n == 1600


def test_wikipedia_drug_example():
    # Wikipedia, "McNemar's test", first example: 314 patients, a = 101, b = 121, c = 59,
    # d = 33; published statistic (121 - 59)^2 / (121 + 59) = 21.35, p < 0.001.
    res = mcnemar_from_table([[101, 121], [59, 33]])
    assert res.statistic == pytest.approx(21.35, abs=0.01)
    assert res.p_value == pytest.approx(stats.chi2.sf(62**2 / 180, df=1))
    assert res.p_value < 0.001


def test_exact_binomial_small_table():
    # 20 teenagers before/after a lecture, table [[1, 11], [3, 5]] (calcugator.com McNemar
    # tutorial): 14 discordant pairs, exact two-tailed p = 2 * P(Bin(14, 1/2) <= 3) = 0.057373.
    res = mcnemar_from_table([[1, 11], [3, 5]])
    assert res.exact
    assert res.statistic == 3
    assert res.p_value == pytest.approx(0.057373046875)


def test_continuity_correction_option():
    # R's default mcnemar.test(Performance) with correct = TRUE: (|86 - 150| - 1)^2 / 236.
    res = mcnemar_from_table([[794, 150], [86, 570]], correction=True)
    assert res.statistic == pytest.approx(63**2 / 236)


def test_paired_difference_ci_matches_agresti_min():
    # Agresti & Min (2005) adjusted Wald interval, as in R PropCIs::diffpropci.mp(b = 40,
    # c = 20, n = 160): published interval (-0.21601726, -0.03089632).
    res = mcnemar_from_table([[50, 20], [40, 50]])
    assert res.ci_low == pytest.approx(-0.21601726, abs=1e-7)
    assert res.ci_high == pytest.approx(-0.03089632, abs=1e-7)
    assert res.estimate == pytest.approx(-20 / 160)


def test_from_correctness_and_predictions_agree():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=300)
    pred_a = np.where(rng.random(300) < 0.85, labels, 1 - labels)
    pred_b = np.where(rng.random(300) < 0.75, labels, 1 - labels)
    by_pred = mcnemar_from_predictions(pred_a, pred_b, labels)
    by_correct = mcnemar_test(pred_a == labels, pred_b == labels)
    assert by_pred == by_correct
    assert by_pred.estimate == pytest.approx(np.mean(pred_a == labels) - np.mean(pred_b == labels))
    assert by_pred.p_value < 0.05


def test_auto_switches_to_exact_for_few_discordant_pairs():
    assert mcnemar_from_table([[50, 12], [12, 50]]).exact
    assert not mcnemar_from_table([[50, 13], [12, 50]]).exact


def test_no_discordant_pairs_gives_p_one():
    res = mcnemar_test([True, True, False], [True, True, False])
    assert res.p_value == 1.0
    assert res.estimate == 0.0


def test_to_dict_is_json():
    d = mcnemar_from_table([[794, 150], [86, 570]]).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["n"] == 1600


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        ([1, 0, 1], [1, 0], "equal lengths"),
        ([1, 2, 1], [1, 0, 1], "boolean or 0/1"),
        ([], [], "non-empty"),
    ],
)
def test_bad_input(a, b, message):
    with pytest.raises(ValueError, match=message):
        mcnemar_test(a, b)


def test_bad_table():
    with pytest.raises(ValueError, match="2x2"):
        mcnemar_from_table([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError, match="2x2"):
        mcnemar_from_table([[1, -2], [4, 5]])
