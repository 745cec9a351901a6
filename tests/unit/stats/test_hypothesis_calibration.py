"""Calibration of the hypothesis' decision rule by simulation (NumPy + SciPy, seconds).

At the null boundary of each part, and of H = A AND (B OR C), a study says "supported" at most
alpha + 0.02 of the time; the intervals each part shows cover the true value within 2 points of
their stated level. 2000 simulated studies per case: the standard error of a rate near 0.05 is
0.005, so alpha + 0.02 is four standard errors above the nominal rate.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from loralens.stats.hypotheses import (
    Thresholds,
    accuracy_verdict,
    drift_verdict,
    evaluate_hypothesis,
    serving_verdict,
)

# Monte-Carlo simulations of many studies: `make test` runs them, `make test-fast` skips them.
pytestmark = pytest.mark.slow

ALPHA, N = 0.05, 2000
TH = Thresholds(accuracy_margin=0.03, drift_reduction=0.2, serving_overhead=0.3, alpha=ALPHA)
SEEDS, REPEATS, PAIRS = 3, 5, 20


def _acc(rng: np.random.Generator, diff: float) -> dict[str, np.ndarray]:
    """Per-seed scores with a true treatment - reference difference `diff` (SD 1 point)."""
    treatment, reference = rng.normal(0.80 + diff, 0.01, SEEDS), rng.normal(0.80, 0.01, SEEDS)
    return {"treatment": treatment, "reference": reference}


def _drift(rng: np.random.Generator, ratio: float) -> dict[str, np.ndarray]:
    """Per-seed drifts, log-normal, with a true GM(treatment) / GM(reference) of `ratio`."""
    reference = np.exp(rng.normal(math.log(0.05), 0.2, SEEDS))
    treatment = np.exp(rng.normal(math.log(0.05 * ratio), 0.2, SEEDS))
    return {"treatment": treatment, "reference": reference}


def _serving(rng: np.random.Generator, ratio: float) -> dict[str, np.ndarray]:
    """Repeated latencies, log-normal, with a true GM(adapters) / GM(merged) of `ratio`."""
    merged = np.exp(rng.normal(math.log(10.0), 0.05, REPEATS))
    return {"merged": merged, "adapters": np.exp(rng.normal(math.log(10 * ratio), 0.05, REPEATS))}


def _paired_serving(rng: np.random.Generator, ratio: float) -> dict:
    """Per-pair latencies: a shared pair effect (machine load) times independent noise; as many
    pairs as the quickstart times (the signed-rank test needs >= 6 at alpha / 2)."""
    load = np.exp(rng.normal(0.0, 0.3, PAIRS))  # pairs differ far more than the noise
    merged = 10 * load * np.exp(rng.normal(0, 0.03, PAIRS))
    adapters = 10 * ratio * load * np.exp(rng.normal(0, 0.03, PAIRS))
    return {"merged": merged, "adapters": adapters, "paired": True}


def _rate(decide) -> float:
    return float(np.mean([decide() == "supported" for _ in range(N)]))


def test_each_part_at_its_threshold_says_supported_at_most_alpha() -> None:
    rng = np.random.default_rng(1)
    a = _rate(lambda: accuracy_verdict(*_acc(rng, -0.03).values(), thresholds=TH).status)
    b = _rate(lambda: drift_verdict(*_drift(rng, 0.8).values(), thresholds=TH).status)
    c = _rate(
        lambda: serving_verdict(*_serving(rng, 1.3).values(), thresholds=TH).status,
    )
    for rate in (a, b, c):
        assert ALPHA - 0.02 <= rate <= ALPHA + 0.02, (a, b, c)


def test_h_at_its_boundary_says_supported_at_most_alpha() -> None:
    # The least favourable null of an intersection-union test: A on its margin, B and C true
    # far beyond doubt, so that H is exactly as likely as A.
    rng = np.random.default_rng(2)

    def study() -> str:
        return evaluate_hypothesis(
            _acc(rng, -0.03), _drift(rng, 0.3), _serving(rng, 1.0), thresholds=TH
        ).status

    assert _rate(study) <= ALPHA + 0.02


def test_h_with_only_b_or_c_at_its_boundary_says_supported_at_most_alpha() -> None:
    # A true, B on its threshold and C false: "B or C" must not be claimed more than alpha.
    rng = np.random.default_rng(3)

    def study() -> str:
        return evaluate_hypothesis(
            _acc(rng, 0.05), _drift(rng, 0.8), _serving(rng, 2.0), thresholds=TH
        ).status

    assert _rate(study) <= ALPHA + 0.02


def test_shown_intervals_cover_at_their_stated_level() -> None:
    rng = np.random.default_rng(4)
    hits, levels = {"acc": 0, "drift": 0, "serving": 0}, {}
    for _ in range(N):
        verdict = evaluate_hypothesis(
            _acc(rng, -0.01), _drift(rng, 0.6), _serving(rng, 1.1), thresholds=TH
        )
        a, b, c = verdict.components
        truth = {"acc": (a, -0.01), "drift": (b, 1 - 0.6), "serving": (c, 1.1 - 1)}
        for key, (part, value) in truth.items():
            hits[key] += part.ci_low <= value <= part.ci_high
            levels[key] = part.confidence_level
    for key, n_hit in hits.items():
        assert abs(n_hit / N - levels[key]) <= 0.02, (key, n_hit / N, levels[key])
    # The OR's parts are shown at 1 - alpha (one-sided alpha/2 each, Bonferroni over two).
    assert levels == {"acc": 1 - 2 * ALPHA, "drift": 1 - ALPHA, "serving": 1 - ALPHA}


def test_paired_serving_rounds_are_calibrated_and_see_through_machine_load() -> None:
    rng = np.random.default_rng(5)

    def serving(ratio: float) -> str:
        drift = {"treatment": [1.0, 1.1, 0.9], "reference": [1.0, 1.1, 0.9]}  # no drift reduction
        v = evaluate_hypothesis(_acc(rng, 0.0), drift, _paired_serving(rng, ratio), thresholds=TH)
        return v.components[2].status

    at_limit = _rate(lambda: serving(1.3))
    assert at_limit <= ALPHA / 2 + 0.02  # tested at alpha / 2 inside H
    # 10% overhead under 30% round-to-round load swings: pairing still shows it is below 30%.
    assert _rate(lambda: serving(1.1)) > 0.9


def _crossed_acc(rng: np.random.Generator, diff: float) -> tuple[np.ndarray, np.ndarray]:
    """(runs, examples) scores of LoRA and full, true mean difference `diff`, where the methods
    differ example by example (w) as much as examples differ (u) and runs barely differ (v)."""
    examples = 200
    u = rng.normal(0, 0.3, examples)  # difficulty, shared
    lora, full = (
        0.8 + shift + u + rng.normal(0, 0.3, examples) + rng.normal(0, 0.01, (SEEDS, 1))
        + rng.normal(0, 0.3, (SEEDS, examples))
        for shift in (diff, 0.0)
    )  # fmt: skip
    return lora, full


def test_part_a_from_examples_is_calibrated_where_welch_across_seeds_is_not() -> None:
    # Welch across seeds treats the test set as fixed: with example-by-method variation it
    # says "supported" at the margin far more often than alpha; the crossed test does not.
    rng = np.random.default_rng(7)

    def status(crossed: bool) -> str:
        lora, full = _crossed_acc(rng, -TH.accuracy_margin)
        examples = (lora, full) if crossed else None
        means = (lora.mean(1), full.mean(1))
        return accuracy_verdict(*means, thresholds=TH, examples=examples).status

    assert _rate(lambda: status(crossed=True)) <= ALPHA + 0.02
    assert _rate(lambda: status(crossed=False)) > 2 * ALPHA


def test_part_a_from_examples_finds_a_planted_equivalence() -> None:
    rng = np.random.default_rng(8)
    lora, full = _crossed_acc(rng, 0.0)
    v = accuracy_verdict(lora.mean(1), full.mean(1), thresholds=TH, examples=(lora, full))
    assert v.test.startswith("crossed examples x runs non-inferiority")
    assert v.estimate == pytest.approx(lora.mean() - full.mean())
    assert "3 treatment vs 3 reference seeds x 200 test examples" in v.sentence


def test_parts_a_and_b_paired_by_seed_are_calibrated_at_their_thresholds() -> None:
    # Runs of one seed share a seed effect (data order, head initialisation): paired, A at its
    # margin and B at its needed reduction say "supported" at most alpha + 0.02 of the time.
    from loralens.stats.parts import accuracy_evidence, drift_evidence

    rng = np.random.default_rng(9)

    def part_a() -> bool:
        seed_effect = rng.normal(0, 0.03, (SEEDS, 1))
        lora, full = _crossed_acc(rng, -TH.accuracy_margin)
        lora, full = lora + seed_effect, full + seed_effect
        ev = accuracy_evidence(lora.mean(1), full.mean(1), TH, examples=(lora, full), paired=True)
        assert ev.test.startswith("paired crossed")
        return ev.p_value < ALPHA

    def part_b() -> bool:
        seed_effect = rng.normal(0, 0.3, SEEDS)
        d = _drift(rng, 0.8)
        shared = np.exp(seed_effect)  # a seed's effect, the same on both sides
        ev = drift_evidence(d["treatment"] * shared, d["reference"] * shared, TH, paired=True)
        assert ev.test.startswith("paired t-test on log ratio")
        return ev.p_value < ALPHA

    assert np.mean([part_a() for _ in range(N)]) <= ALPHA + 0.02
    assert np.mean([part_b() for _ in range(N)]) <= ALPHA + 0.02
