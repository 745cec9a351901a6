"""The research hypothesis H = accuracy AND (drift OR serving) on constructed numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from loralens.stats import (
    Thresholds,
    accuracy_verdict,
    drift_verdict,
    evaluate_hypothesis,
    serving_verdict,
)

FULL_ACC = [0.858, 0.861, 0.856, 0.860, 0.859]
ACC_CLOSE = {"treatment": [0.851, 0.856, 0.849, 0.853, 0.855], "reference": FULL_ACC}  # -0.6 points
ACC_FAR = {"treatment": [0.781, 0.776, 0.779, 0.783, 0.780], "reference": FULL_ACC}  # -7.9 points
ACC_NOISY = {"treatment": [0.80, 0.86, 0.83, 0.81, 0.85], "reference": FULL_ACC}  # -2.9, wide CI

FULL_DRIFT = [0.201, 0.195, 0.207, 0.199, 0.203]
DRIFT_HALF = {"treatment": [0.101, 0.097, 0.104, 0.099, 0.102], "reference": FULL_DRIFT}  # 50% less
DRIFT_SAME = {"treatment": [0.196, 0.199, 0.203, 0.200, 0.198], "reference": FULL_DRIFT}  # 1% less
DRIFT_NOISY = {
    "treatment": [0.12, 0.19, 0.15, 0.17, 0.14],
    "reference": [0.20, 0.21, 0.19, 0.20, 0.20],
}

MERGED = [10.0, 10.2, 9.9, 10.1, 10.05]
SERVE_CHEAP = {"merged": MERGED, "adapters": [11.1, 11.3, 11.0, 11.2, 11.15]}  # +11%
SERVE_DEAR = {"merged": MERGED, "adapters": [14.5, 14.9, 14.2, 14.6, 14.7]}  # +45%


def _statuses(verdict):
    return verdict.status, tuple(c.status for c in verdict.components)


def test_supported_by_accuracy_and_drift():
    v = evaluate_hypothesis(ACC_CLOSE, DRIFT_HALF, SERVE_DEAR)
    assert _statuses(v) == ("supported", ("supported", "supported", "not supported"))
    acc, drift, serve = v.components
    assert acc.estimate == pytest.approx(np.mean(ACC_CLOSE["treatment"]) - np.mean(FULL_ACC))
    assert acc.ci_low > -0.03 and acc.threshold == -0.03
    assert drift.estimate == pytest.approx(0.5, abs=0.01)
    assert drift.ci_low > 0.20
    assert serve.estimate == pytest.approx(0.45, abs=0.01)
    assert serve.ci_low > 0.30
    assert v.p_adjusted < 0.05


def test_supported_by_accuracy_and_serving_when_drift_fails():
    v = evaluate_hypothesis(ACC_CLOSE, DRIFT_SAME, SERVE_CHEAP)
    assert _statuses(v) == ("supported", ("supported", "not supported", "supported"))


def test_not_supported_when_accuracy_drops_beyond_margin():
    v = evaluate_hypothesis(ACC_FAR, DRIFT_HALF, SERVE_CHEAP)
    assert _statuses(v) == ("not supported", ("not supported", "supported", "supported"))
    assert v.components[0].ci_high < -0.03


def test_not_supported_when_neither_drift_nor_serving_holds():
    v = evaluate_hypothesis(ACC_CLOSE, DRIFT_SAME, SERVE_DEAR)
    assert _statuses(v) == ("not supported", ("supported", "not supported", "not supported"))


def test_inconclusive_when_ci_straddles_the_margin():
    v = evaluate_hypothesis(ACC_NOISY, DRIFT_HALF, SERVE_CHEAP)
    assert _statuses(v) == ("inconclusive", ("inconclusive", "supported", "supported"))
    acc = v.components[0]
    assert acc.ci_low < -0.03 < acc.ci_high


def test_inconclusive_drift_and_unmeasured_serving():
    v = evaluate_hypothesis(ACC_CLOSE, DRIFT_NOISY, None)
    assert _statuses(v) == ("inconclusive", ("supported", "inconclusive", "inconclusive"))
    drift, serve = v.components[1:]
    assert drift.ci_low < 0.20 < drift.ci_high
    assert math.isnan(serve.p_value) and "not measured" in serve.sentence


def test_inconclusive_with_too_few_seeds():
    v = evaluate_hypothesis({"treatment": [0.85], "reference": FULL_ACC}, DRIFT_HALF, SERVE_CHEAP)
    acc = v.components[0]
    assert _statuses(v) == ("inconclusive", ("inconclusive", "supported", "supported"))
    assert math.isnan(acc.p_value) and math.isnan(acc.ci_low)
    assert acc.n_seeds == {"treatment": 1, "reference": 5}
    assert "too few seeds" in acc.sentence
    assert accuracy_verdict([], FULL_ACC).status == "inconclusive"


def test_zero_drift_is_inconclusive_with_its_reason_not_a_crash():
    # warmup gives step 1 a learning rate of 0: a selected LoRA model can equal the base exactly
    v = evaluate_hypothesis(
        ACC_CLOSE, {"treatment": [0.0, 0.1, 0.1], "reference": FULL_DRIFT}, SERVE_CHEAP
    )
    drift = v.components[1]
    assert drift.status == "inconclusive" and math.isnan(drift.p_value)
    assert "treatment drift is 0 in some seed" in drift.sentence
    assert v.status == "supported"  # accuracy and serving still decide
    assert drift_verdict([0.1, 0.2], [0.0, 0.3]).status == "inconclusive"


def test_unmeasured_serving_carries_its_reason():
    v = evaluate_hypothesis(ACC_CLOSE, DRIFT_HALF, None, serving_reason="no serving result: x")
    assert "no serving result: x" in v.components[2].sentence


def test_inconclusive_without_variation():
    v = accuracy_verdict([0.85, 0.85, 0.85], [0.86, 0.86, 0.86])
    assert v.status == "inconclusive"
    assert v.estimate == pytest.approx(-0.01)
    assert "no variation" in v.sentence


def test_the_or_over_drift_and_serving_halves_their_alpha():
    # Drift alone: p = 0.028 < 0.05. Inside H it is one of the two claims of "B or C", each
    # tested at alpha / 2 (Bonferroni): adjusted p = 2 * 0.028 = 0.055, so it no longer counts,
    # and its interval is shown at 95%, the level matching a one-sided test at 0.025.
    drift = {"treatment": [0.132, 0.16, 0.122, 0.116], "reference": [0.206, 0.208, 0.19, 0.206]}
    alone = drift_verdict(drift["treatment"], drift["reference"])
    assert alone.status == "supported" and 0.02 < alone.p_value < 0.03
    assert alone.p_adjusted == alone.p_value
    v = evaluate_hypothesis(ACC_CLOSE, drift, SERVE_DEAR)
    part = v.components[1]
    assert part.p_value == pytest.approx(alone.p_value)
    assert part.p_adjusted == pytest.approx(2 * alone.p_value)
    assert part.status == "inconclusive" and part.confidence_level == pytest.approx(0.95)
    assert "Bonferroni over drift and serving: 0.0551" in part.sentence
    assert v.status == "inconclusive"
    assert alone.confidence_level == pytest.approx(0.90)


def test_performance_needs_no_adjustment_in_an_intersection_union_test():
    # LoRA [.79, .80, .815] vs full [.80, .81, .815], margin 3 points: the 90% CI lies wholly
    # above -3 points and p = 0.032 < 0.05; A is one part of an AND, so it stands unadjusted.
    acc = {"treatment": [0.79, 0.80, 0.815], "reference": [0.80, 0.81, 0.815]}
    v = evaluate_hypothesis(acc, DRIFT_HALF, None)
    part = v.components[0]
    assert part.p_value == pytest.approx(0.032, abs=0.001) and part.p_adjusted == part.p_value
    assert part.ci_low > -0.03 and part.status == "supported"
    assert v.status == "supported" and v.p_adjusted == pytest.approx(
        max(part.p_value, v.components[1].p_adjusted)
    )


def test_performance_on_a_metric_where_lower_is_better_turns_the_signs():
    loss = {"treatment": [0.52, 0.51, 0.53], "reference": [0.50, 0.51, 0.50]}  # LoRA ~0.017 worse
    kw = {"thresholds": Thresholds(accuracy_margin=0.05)}
    ok = evaluate_hypothesis(loss, DRIFT_HALF, None, metric="loss", greater_is_better=False, **kw)
    assert ok.components[0].status == "supported" and "loss, mean reference - treatment" in (
        ok.components[0].sentence
    )
    worse = {"treatment": [0.62, 0.61, 0.63], "reference": [0.50, 0.51, 0.50]}
    bad = evaluate_hypothesis(worse, DRIFT_HALF, None, metric="loss", greater_is_better=False, **kw)
    assert bad.components[0].status == "not supported"


def test_thresholds_are_configurable():
    strict = Thresholds(drift_reduction=0.6, serving_overhead=0.05, accuracy_margin=0.001)
    v = evaluate_hypothesis(ACC_CLOSE, DRIFT_HALF, SERVE_CHEAP, thresholds=strict)
    assert _statuses(v) == ("not supported", ("not supported", "not supported", "not supported"))
    assert serving_verdict(MERGED, SERVE_CHEAP["adapters"], thresholds=strict).threshold == 0.05
    # Accuracies given in percent need a margin in points.
    pct = {k: [100 * x for x in vals] for k, vals in ACC_CLOSE.items()}
    with pytest.raises(ValueError, match="percentages"):
        evaluate_hypothesis(pct, DRIFT_HALF)
    ok = accuracy_verdict(
        pct["treatment"], pct["reference"], thresholds=Thresholds(accuracy_margin=3)
    )
    assert ok.status == "supported"


def test_sentence_states_the_numbers():
    v = evaluate_hypothesis(ACC_CLOSE, DRIFT_HALF, SERVE_DEAR)
    acc, drift, serve = (c.sentence for c in v.components)
    assert "accuracy, mean treatment - reference = -0.006" in acc and "90% CI" in acc
    assert "5 treatment vs 5 reference seeds" in acc and "95% CI" in drift and "95% CI" in serve
    assert "reduction = 50.0%" in drift and "needed >= 20.0%" in drift
    assert "overhead = 45.1%" in serve and "allowed <= 30.0%" in serve
    assert v.sentence.startswith("H = performance AND (drift OR serving): supported")
    assert "drift and serving at alpha/2 each" in v.sentence
    assert "\n" not in v.sentence


def test_to_dict_is_strict_json():
    d = evaluate_hypothesis(ACC_CLOSE, DRIFT_HALF, None).to_dict()
    text = json.dumps(d, allow_nan=False)  # NaN would fail here: it must have become null
    assert json.loads(text) == d
    assert d["status"] == "supported"
    assert d["estimate"] is None
    assert [c["name"].split()[0] for c in d["components"]] == ["Performance", "Drift", "Serving"]
    assert d["components"][1]["n_seeds"] == {"treatment": 5, "reference": 5}


def test_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        accuracy_verdict([0.8, math.nan], FULL_ACC)
    with pytest.raises(ValueError, match="keys"):
        evaluate_hypothesis({"LoRA": [0.8, 0.9], "full": FULL_ACC}, DRIFT_HALF)
    with pytest.raises(ValueError, match="NaN"):
        drift_verdict([math.nan, 0.1], FULL_DRIFT)
    with pytest.raises(ValueError, match="alpha"):
        Thresholds(alpha=0.6)
    with pytest.raises(ValueError, match="min_seeds"):
        Thresholds(min_seeds=1)


def test_paired_runs_whose_differences_do_not_vary_have_no_test_not_a_crash() -> None:
    # Two methods that got every example alike in every seed (and drifts in a fixed ratio):
    # the paired tests are undefined; the verdict says why and is inconclusive.
    scores = np.array([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    v = evaluate_hypothesis(
        {"treatment": scores.mean(1), "reference": scores.mean(1), "paired": True},
        {"treatment": [0.1, 0.2, 0.3], "reference": [0.2, 0.4, 0.6], "paired": True},
        examples={"treatment": scores, "reference": scores},
    )
    a, b = v.components[0], v.components[1]
    assert a.status == b.status == "inconclusive" and a.test == b.test == "none"
    assert "no test: the paired differences do not vary" in a.sentence
    assert "no test: the per-pair log ratios do not vary" in b.sentence
