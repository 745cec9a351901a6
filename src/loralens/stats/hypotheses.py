"""The research hypothesis as tests over seeds, with a three-valued verdict per part.

H = A and (B or C), thresholds configurable through `Thresholds`:

- A, performance: LoRA loses at most `accuracy_margin` of the task's primary metric against
  full fine-tuning (for a metric where lower is better, the signs are turned). One-sided Welch
  non-inferiority test, H0: mean(lora) - mean(full) <= -margin.
- B, drift: LoRA moves representations at least `drift_reduction` less, i.e. the relative
  reduction 1 - drift_lora / drift_full >= 0.20. Tested as a ratio of geometric means over seeds:
  one-sided Welch test on log drift, H0: log GM(lora) - log GM(full) >= log(1 - 0.20). With the
  3-5 seeds a study affords, a t-test on logs behaves far better than a bootstrap of the ratio
  (which cannot resample 3 values meaningfully), and the log keeps the ratio's CI positive.
- C, serving: two unmerged adapters cost at most `serving_overhead` more than merged weights.
  The benchmark times each two-adapter call between two calls of merged weights serving one
  adapter's batch (A-B-A pairs, `loralens.serving.pairing`); the per-pair ratios are the units:
  a one-sided Wilcoxon signed-rank test on their logs, H0: pseudo-median ratio >= 1.30, with the
  Hodges-Lehmann estimate and its exact interval, so one pair hit by a transient weighs one rank
  (`loralens.stats.signed_rank`). (Unpaired timings of older results: Welch on log latency.)

H is an intersection-union test: it holds when A holds and (B or C) holds. A needs no
adjustment (every part of an AND must hold on its own); the OR over B and C is a union of two
claims, so B and C are each tested at alpha / 2 (Bonferroni over the two). Hence
p_H = max(p_A, min(2 p_B, 2 p_C, 1)), and H is "supported" exactly when p_H < alpha.

Each part shows the two-sided interval matching its one-sided test: 1 - 2*alpha for A (and for
a part tested alone), 1 - alpha for B and C inside H. Status: "supported" if the (adjusted)
p-value is below alpha; "not supported" if that interval lies entirely on the wrong side of the
threshold; otherwise, or with fewer than `min_seeds` per group or no variation, "inconclusive".
The statuses combine with three-valued logic (AND: any "not supported" wins, else all must be
"supported"; OR: any "supported" wins, else all must be "not supported"). Simulated studies at
the null boundary of each part and of H check the rejection rates and coverage
(tests/unit/stats/test_hypothesis_calibration.py).

A fourth status, "not applicable", is given by the analysis, not by the tests: a comparison in
which a compared method did not learn its task (`loralens.results.over_baselines`) keeps its numbers
but decides nothing (`not_applicable`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from loralens.stats.parts import (
    DRIFT,
    INCONCLUSIVE,
    NOT_APPLICABLE,
    NOT_SUPPORTED,
    OR_ADJUSTMENT,
    PARTS,
    SUPPORTED,
    Evidence,
    Status,
    Thresholds,
    accuracy_evidence,
    drift_evidence,
    named,
    not_measured,
    noted,
    serving_evidence,
    serving_not_measured,
)
from loralens.stats.results import to_jsonable

__all__ = ["Thresholds", "Verdict", "evaluate_hypothesis", "not_applicable"]


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Outcome of one part of the hypothesis (or of the whole), with a one-line summary."""

    name: str
    estimate: float
    ci_low: float
    ci_high: float
    test: str
    p_value: float
    p_adjusted: float
    n_seeds: Mapping[str, int]
    alpha: float
    status: Status
    sentence: str
    threshold: float = math.nan
    components: tuple[Verdict, ...] = ()
    confidence_level: float = math.nan  # of the interval shown (NaN: none)
    adjustment: str = ""  # how p_adjusted was obtained from p_value
    metric: str = ""  # the performance part's metric, whose unit its numbers are in
    metric_unit: str = ""  # what a difference of that metric is in: points, nats, ...
    greater_is_better: bool = True  # the performance part's metric direction
    part: str = "other"  # performance, drift, serving, or hypothesis (H, its parts inside)
    not_applicable_reason: str = ""  # why the status is "not applicable" (else empty)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite numbers become None)."""
        return to_jsonable(self)


def _decide(ev: Evidence, p_adjusted: float, adjustment: str = "") -> Verdict:
    """Status and sentence of one part, given its (possibly adjusted) p-value."""
    if math.isfinite(ev.p_value):
        wrong_side = ev.ci_high < ev.threshold if ev.higher_is_better else ev.ci_low > ev.threshold
        if p_adjusted < ev.alpha:
            status = SUPPORTED
        else:
            status = NOT_SUPPORTED if wrong_side else INCONCLUSIVE
        adjusted = f" ({adjustment}: {p_adjusted:.3g})" if adjustment else ""
        test_text = f", {ev.test} p = {ev.p_value:.3g}{adjusted}"
    else:
        status, test_text, p_adjusted = INCONCLUSIVE, "", math.nan
    counts = " vs ".join(f"{n} {k}" for k, n in ev.n_seeds.items())
    sentence = (
        f"{ev.name}: {ev.describe}{test_text}, {counts} {ev.unit}: {status} (alpha = {ev.alpha:g})."
    )
    return Verdict(
        name=ev.name,
        estimate=ev.estimate,
        ci_low=ev.ci_low,
        ci_high=ev.ci_high,
        test=ev.test,
        p_value=ev.p_value,
        p_adjusted=p_adjusted,
        n_seeds=ev.n_seeds,
        alpha=ev.alpha,
        status=status,
        sentence=sentence,
        threshold=ev.threshold,
        confidence_level=ev.level,
        adjustment=adjustment if math.isfinite(ev.p_value) else "",
        metric=ev.metric,
        metric_unit=ev.metric_unit,
        greater_is_better=ev.greater_is_better,
        part=PARTS.get(ev.name, "other"),
    )


def not_applicable(verdict: Verdict, reason: str) -> Verdict:
    """`verdict` and its parts made "not applicable" for `reason`, their numbers kept."""
    parts = tuple(not_applicable(c, reason) for c in verdict.components)
    return dataclasses.replace(
        verdict,
        status=NOT_APPLICABLE,
        sentence=f"Not applicable: {reason}. What the tests alone say: {verdict.sentence}",
        components=parts,
        not_applicable_reason=reason,
    )


def accuracy_verdict(
    treatment: Any,
    reference: Any,
    /,
    *,
    thresholds: Thresholds | None = None,
    examples: tuple[Any, Any] | None = None,
) -> Verdict:
    """Part A: LoRA's accuracy over seeds is at most `accuracy_margin` below full FT's;
    `examples`: the two methods' (runs, examples) scores (then the crossed test decides)."""
    ev = accuracy_evidence(treatment, reference, thresholds or Thresholds(), examples=examples)
    return _decide(ev, ev.p_value)


def drift_verdict(
    treatment: Any, reference: Any, /, *, thresholds: Thresholds | None = None
) -> Verdict:
    """Part B: LoRA's mean drift per seed is at least `drift_reduction` below full FT's."""
    ev = drift_evidence(treatment, reference, thresholds or Thresholds())
    return _decide(ev, ev.p_value)


def serving_verdict(
    merged: Any,
    adapters: Any,
    /,
    *,
    thresholds: Thresholds | None = None,
    paired: bool = False,
    reason: str = "",
    note: str = "",
) -> Verdict:
    """Part C alone: serving two unmerged adapters costs at most `serving_overhead` extra.

    `paired`: the timings are per-round pairs; `reason`: why there are none (then inconclusive);
    `note`: what was measured (the engine), added to the description.
    """
    th = thresholds or Thresholds()
    if reason:
        return _decide(serving_not_measured(th, reason), math.nan)
    ev = noted(serving_evidence(merged, adapters, th, paired=paired), note)
    return _decide(ev, ev.p_value)


def _pick(data: Mapping[str, Any], keys: tuple[str, str], what: str) -> tuple[Any, Any]:
    """The two groups of `data` named by `keys`, or a clear error."""
    if not isinstance(data, Mapping) or any(k not in data for k in keys):
        raise ValueError(f"{what} must be a mapping with keys {keys}")
    return data[keys[0]], data[keys[1]]


def _and(*statuses: Status) -> Status:
    if NOT_SUPPORTED in statuses:
        return NOT_SUPPORTED
    return SUPPORTED if all(s == SUPPORTED for s in statuses) else INCONCLUSIVE


def _or(*statuses: Status) -> Status:
    if SUPPORTED in statuses:
        return SUPPORTED
    return NOT_SUPPORTED if all(s == NOT_SUPPORTED for s in statuses) else INCONCLUSIVE


def _combine(
    parts: tuple[Verdict, Verdict, Verdict], raw: list[float], adjusted: list[float], alpha: float
) -> Verdict:
    """The verdict on H = A AND (B OR C): A as tested, B and C Bonferroni-adjusted over two."""
    a, b, c = parts
    status = _and(a.status, _or(b.status, c.status))
    # Intersection-union: H holds if A holds and at least one of B, C holds.
    p_value = max(raw[0], min(raw[1], raw[2]))
    p_adjusted = max(adjusted[0], min(adjusted[1], adjusted[2]))
    sentence = (
        f"H = performance AND (drift OR serving): {status}; performance {a.status}, drift "
        f"{b.status}, serving {c.status} (intersection-union test: performance at alpha, drift "
        f"and serving at alpha/2 each; p = max(p_A, min(2 p_B, 2 p_C)) = {p_adjusted:.3g}, "
        f"alpha = {alpha:g})."
    )
    n_seeds = {f"{v.name.split()[0].lower()} {k}": n for v in parts for k, n in v.n_seeds.items()}
    return Verdict(
        name="H: LoRA non-inferior AND (less drift OR cheap serving)",
        estimate=math.nan,
        ci_low=math.nan,
        ci_high=math.nan,
        test="intersection-union test of A AND (B OR C), Bonferroni over B and C",
        p_value=p_value,
        p_adjusted=p_adjusted,
        n_seeds=n_seeds,
        alpha=alpha,
        status=status,
        sentence=sentence,
        components=parts,
        adjustment="max(p_A, min(2 p_B, 2 p_C, 1))",
        part="hypothesis",
    )


COMPARED = ("treatment", "reference")  # the two groups of parts A and B


def evaluate_hypothesis(
    accuracy: Mapping[str, Sequence[float]],
    drift: Mapping[str, Sequence[float]],
    serving: Mapping[str, Sequence[float]] | None = None,
    *,
    thresholds: Thresholds | None = None,
    serving_reason: str = "",
    serving_note: str = "",
    drift_reason: str = "",
    drift_note: str = "",
    metric: str = "accuracy",
    greater_is_better: bool = True,
    examples: Mapping[str, Any] | None = None,
    names: tuple[str, str] | None = None,
) -> Verdict:
    """Verdict on H = performance AND (drift OR serving), an intersection-union test.

    `accuracy` maps "treatment" and "reference" to per-seed values of the task's primary
    `metric` (and "paired" to whether value i of each shares its seed; `drift` likewise);
    `examples` (a per-example-mean metric) maps them to (runs, examples) scores whose row means
    are those values: part A is then the crossed examples x runs test, else Welch across seeds;
    `drift_reason`: why the drift part cannot be tested (then inconclusive with it);
    `drift_note`: what the drift part rests on (step, pooling, flagged layers), in its sentence;
    `serving_note`: whose serving measurement part C is (one study-level result), likewise;
    `names`: the compared treatment and reference variants, as the sentences call them (None:
    "treatment" and "reference").
    """
    # `drift` maps "treatment" and "reference" to per-seed values; `serving` maps "merged" and
    # "adapters" to repeated latency measurements (None: not measured, so inconclusive). An
    # untestable part has p = 1.
    th = thresholds or Thresholds()
    acc = _pick(accuracy, COMPARED, "accuracy")
    drift_ev = (
        not_measured(DRIFT, th.drift_reduction, True, COMPARED, th, drift_reason, "seeds")
        if drift_reason
        else drift_evidence(
            *_pick(drift, COMPARED, "drift"),
            th,
            family=2,
            paired=bool(drift.get("paired")),
            names=names or COMPARED,
        )
    )
    evidence = (
        accuracy_evidence(
            *acc,
            th,
            metric,
            greater_is_better,
            None if examples is None else _pick(examples, COMPARED, "examples"),
            bool(accuracy.get("paired")),
            names or COMPARED,
        ),
        noted(drift_ev, drift_note),
        noted(
            serving_not_measured(th, serving_reason or "not measured")
            if serving is None
            else serving_evidence(
                *_pick(serving, ("merged", "adapters"), "serving"),
                th,
                family=2,
                paired=bool(serving.get("paired")),
            ),
            serving_note,
        ),
    )
    if names is not None:
        evidence = (named(evidence[0], names), named(evidence[1], names), evidence[2])
    raw = [ev.p_value if math.isfinite(ev.p_value) else 1.0 for ev in evidence]
    adjusted = [raw[0], min(1.0, 2 * raw[1]), min(1.0, 2 * raw[2])]
    a = _decide(evidence[0], adjusted[0])
    b, c = (_decide(ev, p, OR_ADJUSTMENT) for ev, p in zip(evidence[1:], adjusted[1:], strict=True))
    return _combine((a, b, c), raw, adjusted, th.alpha)
