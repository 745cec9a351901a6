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
  The benchmark times merged weights serving one adapter's batch in the same rounds as the
  two-adapter batch; the per-round ratios are the units: a one-sided paired t-test on their
  logs, H0: GM(adapters_i / merged_i) >= 1.30. (Unpaired timings of older results: Welch on
  log latency.)

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
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from loralens.stats._checks import as_positive_sample, as_sample, check_level
from loralens.stats.results import StatResult, to_jsonable
from loralens.stats.seeds import log_ratio_test, paired_log_ratio_test, welch_noninferiority

PERFORMANCE = "Performance (LoRA non-inferior on the primary metric)"
DRIFT = "Drift (LoRA moves representations less)"
OR_ADJUSTMENT = "Bonferroni over drift and serving"

Status = Literal["supported", "not supported", "inconclusive"]
SUPPORTED: Status = "supported"
NOT_SUPPORTED: Status = "not supported"
INCONCLUSIVE: Status = "inconclusive"


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """Configurable thresholds of the research hypothesis."""

    accuracy_margin: float = 0.03  # absolute, in the units of the accuracies (0.03 = 3 points)
    drift_reduction: float = 0.20  # relative: (drift_full - drift_lora) / drift_full
    serving_overhead: float = 0.30  # relative: latency_adapters / latency_merged - 1
    alpha: float = 0.05
    min_seeds: int = 2

    def __post_init__(self) -> None:
        check_level(self.alpha, "alpha")
        if self.alpha >= 0.5:
            raise ValueError("alpha must be < 0.5 (the CI level is 1 - 2 * alpha)")
        if self.accuracy_margin < 0 or not 0 <= self.drift_reduction < 1:
            raise ValueError("accuracy_margin must be >= 0 and drift_reduction in [0, 1)")
        if self.serving_overhead < 0 or self.min_seeds < 2:
            raise ValueError("serving_overhead must be >= 0 and min_seeds >= 2")


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite numbers become None)."""
        return to_jsonable(self)


@dataclasses.dataclass(frozen=True)
class _Evidence:
    """A part's test result before the (possibly adjusted) p-value decides its status."""

    name: str
    estimate: float
    ci_low: float
    ci_high: float
    threshold: float
    higher_is_better: bool
    test: str
    p_value: float
    n_seeds: dict[str, int]
    alpha: float
    describe: str  # "<finding> (<CI>; <threshold>)" or why there is no test
    unit: str  # "seeds" or "measurements"
    level: float = math.nan  # confidence level of the interval


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _decide(ev: _Evidence, p_adjusted: float, adjustment: str = "") -> Verdict:
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
    )


def _untestable(
    name: str,
    groups: dict[str, np.ndarray],
    point: tuple[float, str],
    threshold: float,
    th: Thresholds,
    unit: str,
) -> _Evidence | None:
    """Evidence for a part that cannot be tested (too few values, no variation), else None.

    `point` is the point estimate and its description, shown when every group has a value.
    """
    n_seeds = {k: int(v.size) for k, v in groups.items()}
    if min(n_seeds.values()) < th.min_seeds:
        why = f"too few {unit} (need >= {th.min_seeds} per group)"
    elif all(np.ptp(v) == 0 for v in groups.values()):
        why = f"no variation across {unit}, so no test is possible"
    else:
        return None
    estimate, text = point if min(n_seeds.values()) > 0 else (math.nan, "")
    describe = f"{text}, but {why}" if text else why
    nan = math.nan
    return _Evidence(
        name, estimate, nan, nan, threshold, True, "none", nan, n_seeds, th.alpha, describe, unit
    )


def _evidence(
    name: str,
    r: StatResult,
    estimate: float,
    ci: tuple[float, float],
    threshold: float,
    higher_is_better: bool,
    groups: dict[str, np.ndarray],
    th: Thresholds,
    describe: str,
    unit: str,
) -> _Evidence:
    n_seeds = {k: int(v.size) for k, v in groups.items()}
    return _Evidence(
        name, estimate, *ci, threshold, higher_is_better, r.test, r.p_value, n_seeds, th.alpha,
        describe, unit, r.confidence_level,
    )  # fmt: skip


def _samples(positive: bool, **named: Any) -> dict[str, np.ndarray]:
    """NaN-free 1-D samples by group name (sizes are judged by the caller)."""
    check = as_positive_sample if positive else as_sample
    return {k: check(v, k, min_n=0) for k, v in named.items()}


def _gm_ratio(numerator: np.ndarray, denominator: np.ndarray) -> float:
    """Ratio of geometric means (NaN if a group is empty)."""
    if numerator.size == 0 or denominator.size == 0:
        return math.nan
    return math.exp(np.log(numerator).mean() - np.log(denominator).mean())


def _accuracy(
    lora: Any, full: Any, th: Thresholds, metric: str = "accuracy", greater: bool = True
) -> _Evidence:
    name, margin = PERFORMANCE, th.accuracy_margin
    groups = _samples(False, lora=lora, full=full)
    if margin < 1 and any(np.any(np.abs(v) > 1) for v in groups.values()):
        raise ValueError("scores above 1 look like percentages: give accuracy_margin in points")
    if not greater:  # lower is better: LoRA may be at most `margin` above full fine-tuning
        groups = {k: -v for k, v in groups.items()}
    lo, fu = groups["lora"], groups["full"]
    diff = float(lo.mean() - fu.mean()) if lo.size and fu.size else math.nan
    what = f"{metric}, mean LoRA - full" if greater else f"{metric}, mean full - LoRA"
    point = (diff, f"{what} = {diff:.4g}")
    early = _untestable(name, groups, point, -margin, th, "seeds")
    if early is not None:
        return early
    r = welch_noninferiority(groups["lora"], groups["full"], margin=margin, alpha=th.alpha)
    describe = (
        f"{what} = {r.estimate:.4g} ({100 * r.confidence_level:.0f}% CI "
        f"{r.ci_low:.4g} to {r.ci_high:.4g}; allowed >= {-margin:.4g})"
    )
    ci = (r.ci_low, r.ci_high)
    return _evidence(name, r, r.estimate, ci, -margin, True, groups, th, describe, "seeds")


def _drift(lora: Any, full: Any, th: Thresholds, family: int = 1) -> _Evidence:
    name, need = DRIFT, th.drift_reduction
    raw = _samples(False, lora=lora, full=full)
    if unmoved := [k for k, v in raw.items() if np.any(v <= 0)]:
        # A selected model identical to the base (step 0, or a learning rate of 0 in warmup).
        why = (
            f"{' and '.join(unmoved)} drift is 0 in some seed (the selected model equals the "
            "base), and a ratio on the log scale cannot take 0: no test"
        )
        n_seeds, nan = {k: int(v.size) for k, v in raw.items()}, math.nan
        return _Evidence(
            name, nan, nan, nan, need, True, "none", nan, n_seeds, th.alpha, why, "seeds"
        )  # fmt: skip
    groups = _samples(True, lora=lora, full=full)
    observed = 1.0 - _gm_ratio(groups["lora"], groups["full"])
    point = (observed, f"reduction = {_pct(observed)}")
    early = _untestable(name, groups, point, need, th, "seeds")
    if early is not None:
        return early
    r = log_ratio_test(
        groups["lora"],
        groups["full"],
        threshold=1.0 - need,
        alternative="less",
        confidence_level=1 - 2 * th.alpha / family,
    )
    # reduction = 1 - GM(lora) / GM(full): the ratio's upper bound is the reduction's lower one.
    reduction, ci = 1.0 - r.estimate, (1.0 - r.ci_high, 1.0 - r.ci_low)
    describe = (
        f"reduction = {_pct(reduction)} ({100 * r.confidence_level:.0f}% CI {_pct(ci[0])} "
        f"to {_pct(ci[1])}; needed >= {_pct(need)})"
    )
    return _evidence(name, r, reduction, ci, need, True, groups, th, describe, "seeds")


def _serving(
    merged: Any, adapters: Any, th: Thresholds, family: int = 1, paired: bool = False
) -> _Evidence:
    name, limit = "Serving (two adapters cost little extra)", th.serving_overhead
    groups = _samples(True, merged=merged, adapters=adapters)
    unit = "rounds" if paired else "measurements"
    observed = _gm_ratio(groups["adapters"], groups["merged"]) - 1.0
    point = (observed, f"overhead = {_pct(observed)}")
    early = _untestable(name, groups, point, limit, th, unit)
    if early is not None:
        return early
    test = paired_log_ratio_test if paired else log_ratio_test
    r = test(
        groups["adapters"],
        groups["merged"],
        threshold=1.0 + limit,
        alternative="less",
        confidence_level=1 - 2 * th.alpha / family,
    )
    overhead, ci = r.estimate - 1.0, (r.ci_low - 1.0, r.ci_high - 1.0)
    describe = (
        f"overhead = {_pct(overhead)} ({100 * r.confidence_level:.0f}% CI {_pct(ci[0])} "
        f"to {_pct(ci[1])}; allowed <= {_pct(limit)})"
    )
    return _evidence(name, r, overhead, ci, limit, False, groups, th, describe, unit)


def accuracy_verdict(lora: Any, full: Any, /, *, thresholds: Thresholds | None = None) -> Verdict:
    """Part A: LoRA's accuracy over seeds is at most `accuracy_margin` below full FT's."""
    ev = _accuracy(lora, full, thresholds or Thresholds())
    return _decide(ev, ev.p_value)


def drift_verdict(lora: Any, full: Any, /, *, thresholds: Thresholds | None = None) -> Verdict:
    """Part B: LoRA's mean drift per seed is at least `drift_reduction` below full FT's."""
    ev = _drift(lora, full, thresholds or Thresholds())
    return _decide(ev, ev.p_value)


def serving_verdict(
    merged: Any, adapters: Any, /, *, thresholds: Thresholds | None = None
) -> Verdict:
    """Part C: serving two unmerged adapters costs at most `serving_overhead` extra."""
    ev = _serving(merged, adapters, thresholds or Thresholds())
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


def _not_measured(
    name: str,
    threshold: float,
    higher_is_better: bool,
    groups: tuple[str, str],
    th: Thresholds,
    reason: str,
    unit: str,
) -> _Evidence:
    """Evidence of a part that has no data to test, with the reason."""
    nan, n_seeds = math.nan, dict.fromkeys(groups, 0)
    return _Evidence(
        name, nan, nan, nan, threshold, higher_is_better, "none", nan, n_seeds, th.alpha,
        reason, unit,
    )  # fmt: skip


def _serving_not_measured(th: Thresholds, reason: str) -> _Evidence:
    name = "Serving (two adapters cost little extra)"
    groups = ("merged", "adapters")
    return _not_measured(name, th.serving_overhead, False, groups, th, reason, "measurements")


def _noted(ev: _Evidence, note: str) -> _Evidence:
    """`ev` with `note` added to its description."""
    return dataclasses.replace(ev, describe=f"{ev.describe}; {note}") if note else ev


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
    )


def evaluate_hypothesis(
    accuracy: Mapping[str, Sequence[float]],
    drift: Mapping[str, Sequence[float]],
    serving: Mapping[str, Sequence[float]] | None = None,
    *,
    thresholds: Thresholds | None = None,
    serving_reason: str = "",
    drift_reason: str = "",
    drift_note: str = "",
    metric: str = "accuracy",
    greater_is_better: bool = True,
) -> Verdict:
    """Verdict on H = performance AND (drift OR serving), an intersection-union test.

    `accuracy` maps "lora" and "full" to per-seed values of the task's primary `metric`;
    `drift_reason`: why the drift part cannot be tested (then inconclusive with it);
    `drift_note`: what the drift part rests on (step, pooling, flagged layers), in its sentence.
    """
    # `drift` maps "lora" and "full" to per-seed values; `serving` maps "merged" and "adapters"
    # to repeated latency measurements (None: not measured, so inconclusive). An untestable part
    # has p = 1.
    th = thresholds or Thresholds()
    acc = _pick(accuracy, ("lora", "full"), "accuracy")
    drift_ev = (
        _not_measured(DRIFT, th.drift_reduction, True, ("lora", "full"), th, drift_reason, "seeds")
        if drift_reason
        else _drift(*_pick(drift, ("lora", "full"), "drift"), th, family=2)
    )
    evidence = (
        _accuracy(*acc, th, metric, greater_is_better),
        _noted(drift_ev, drift_note),
        _serving_not_measured(th, serving_reason or "not measured")
        if serving is None
        else _serving(
            *_pick(serving, ("merged", "adapters"), "serving"),
            th,
            family=2,
            paired=bool(serving.get("paired")),
        ),
    )
    raw = [ev.p_value if math.isfinite(ev.p_value) else 1.0 for ev in evidence]
    adjusted = [raw[0], min(1.0, 2 * raw[1]), min(1.0, 2 * raw[2])]
    a = _decide(evidence[0], adjusted[0])
    b, c = (_decide(ev, p, OR_ADJUSTMENT) for ev, p in zip(evidence[1:], adjusted[1:], strict=True))
    return _combine((a, b, c), raw, adjusted, th.alpha)
