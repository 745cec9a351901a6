"""The three parts of the research hypothesis as evidence: each part's test, interval and
description before a (possibly adjusted) p-value decides its status (`stats.hypotheses`)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import numpy as np

from loralens.stats._checks import as_positive_sample, as_sample, check_level
from loralens.stats.crossed import (
    CrossedResult,
    crossed_difference_test,
    paired_crossed_difference_test,
)
from loralens.stats.results import StatResult
from loralens.stats.seeds import (
    log_ratio_test,
    paired_log_ratio_test,
    paired_noninferiority,
    welch_noninferiority,
)
from loralens.stats.signed_rank import paired_signed_rank_log_ratio

PERFORMANCE = "Performance (LoRA non-inferior on the primary metric)"
DRIFT = "Drift (LoRA moves representations less)"
SERVING = "Serving (two adapters cost little extra)"
# Which part of H a verdict is, by the name its producer gave it (the report reads the part).
PARTS = {PERFORMANCE: "performance", DRIFT: "drift", SERVING: "serving"}
OR_ADJUSTMENT = "Bonferroni over drift and serving"

Status = Literal["supported", "not supported", "inconclusive", "not applicable"]
SUPPORTED: Status = "supported"
NOT_SUPPORTED: Status = "not supported"
INCONCLUSIVE: Status = "inconclusive"
# A comparison of models that did not learn their task: the tests run, but decide nothing.
NOT_APPLICABLE: Status = "not applicable"


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
class Evidence:
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
    metric: str = ""  # the performance part's metric
    metric_unit: str = ""  # what its differences are in: points, nats, ...
    greater_is_better: bool = True  # the performance part's metric direction


def pct(x: float) -> str:
    """A fraction as a percentage with one decimal."""
    return f"{100 * x:.1f}%"


def untestable(
    name: str,
    groups: dict[str, np.ndarray],
    point: tuple[float, str],
    threshold: float,
    th: Thresholds,
    unit: str,
) -> Evidence | None:
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
    shown = point if min(n_seeds.values()) > 0 else (math.nan, "")
    return no_test(name, groups, shown, threshold, th, unit, why)


def no_test(
    name: str,
    groups: dict[str, np.ndarray],
    point: tuple[float, str],
    threshold: float,
    th: Thresholds,
    unit: str,
    why: str,
) -> Evidence:
    """Evidence of a part with no test on these data (`why`), its point estimate kept."""
    n_seeds, nan = {k: int(v.size) for k, v in groups.items()}, math.nan
    estimate, text = point
    describe = f"{text}, but {why}" if text else why
    return Evidence(
        name, estimate, nan, nan, threshold, True, "none", nan, n_seeds, th.alpha, describe, unit
    )  # fmt: skip


def evidence(
    name: str,
    r: StatResult | CrossedResult,
    estimate: float,
    ci: tuple[float, float],
    threshold: float,
    higher_is_better: bool,
    groups: dict[str, np.ndarray],
    th: Thresholds,
    describe: str,
    unit: str,
) -> Evidence:
    n_seeds = {k: int(v.size) for k, v in groups.items()}
    return Evidence(
        name, estimate, *ci, threshold, higher_is_better, r.test, r.p_value, n_seeds, th.alpha,
        describe, unit, r.confidence_level,
    )  # fmt: skip


def samples(positive: bool, **named: Any) -> dict[str, np.ndarray]:
    """NaN-free 1-D samples by group name (sizes are judged by the caller)."""
    check = as_positive_sample if positive else as_sample
    return {k: check(v, k, min_n=0) for k, v in named.items()}


def gm_ratio(numerator: np.ndarray, denominator: np.ndarray) -> float:
    """Ratio of geometric means (NaN if a group is empty)."""
    if numerator.size == 0 or denominator.size == 0:
        return math.nan
    return math.exp(np.log(numerator).mean() - np.log(denominator).mean())


def _is_fraction(metric: str) -> bool:
    """Whether a metric's scores are fractions in [0, 1] (a registered percent metric, or a name
    the registry does not know); NLL, for one, is not."""
    from loralens.task_metrics import METRICS

    return metric not in METRICS or METRICS[metric].percent


def _metric_unit(metric: str) -> str:
    """What a difference of `metric` is in (the registry's word; '' for an unregistered one)."""
    from loralens.task_metrics import METRICS

    return METRICS[metric].difference_unit if metric in METRICS else ""


def _unit(metric: str, margin: float) -> str:
    """After a margin: ' = -3.0 points' (a percent metric), ' nats', or '' (unregistered)."""
    from loralens.task_metrics import METRICS

    if metric not in METRICS:
        return ""
    m = METRICS[metric]
    return f" = {m.difference(-margin)}" if m.percent else f" {m.difference_unit}"


def accuracy_evidence(
    treatment: Any,
    reference: Any,
    th: Thresholds,
    metric: str = "accuracy",
    greater: bool = True,
    examples: tuple[Any, Any] | None = None,
    paired: bool = False,
    names: tuple[str, str] = ("treatment", "reference"),
) -> Evidence:
    """Part A's evidence: the crossed examples x runs test when `examples` holds the two
    methods' (runs, examples) scores of a per-example-mean metric, else a t-test across seeds;
    `paired`: run i of each method shares its seed (the tests then pair them); `names`: what
    the treatment and the reference are called in its sentence."""
    name, margin = PERFORMANCE, th.accuracy_margin
    groups = samples(False, treatment=treatment, reference=reference)
    if _is_fraction(metric) and margin < 1 and any(np.any(np.abs(v) > 1) for v in groups.values()):
        raise ValueError("scores above 1 look like percentages: give accuracy_margin in points")
    sign = 1.0 if greater else -1.0  # lower is better: LoRA may be at most `margin` above full
    groups = {k: sign * v for k, v in groups.items()}
    lo, fu = groups["treatment"], groups["reference"]
    diff = float(lo.mean() - fu.mean()) if lo.size and fu.size else math.nan
    t, ref = names
    what = f"{metric}, mean {t} - {ref}" if greater else f"{metric}, mean {ref} - {t}"
    point = (diff, f"{what} = {diff:.4g}")
    early = untestable(name, groups, point, -margin, th, "seeds")
    if early is not None:
        return _of_metric(early, metric, greater)
    seeds = "seeds (paired by seed)" if paired else "seeds"
    try:
        if examples is None:
            test = paired_noninferiority if paired else welch_noninferiority
            r = test(groups["treatment"], groups["reference"], margin=margin, alpha=th.alpha)
            unit = seeds
        else:
            scores = (sign * np.asarray(e) for e in examples)
            r = crossed_noninferiority(*scores, margin, th.alpha, paired)
            unit = f"{seeds} x {r.n_examples} test examples"
    except ValueError as exc:  # e.g. two methods that got every example alike: no variation
        ev = no_test(name, groups, point, -margin, th, seeds, f"no test: {exc}")
        return _of_metric(ev, metric, greater)
    describe = (
        f"{what} = {r.estimate:.4g} ({100 * r.confidence_level:.0f}% CI "
        f"{r.ci_low:.4g} to {r.ci_high:.4g}; allowed >= {-margin:.4g}{_unit(metric, margin)})"
    )
    ci = (r.ci_low, r.ci_high)
    ev = evidence(name, r, r.estimate, ci, -margin, True, groups, th, describe, unit)
    return _of_metric(ev, metric, greater)


def _of_metric(ev: Evidence, metric: str, greater: bool) -> Evidence:
    """Part A's evidence tagged with its metric, the unit of its differences and direction."""
    return dataclasses.replace(
        ev, metric=metric, metric_unit=_metric_unit(metric), greater_is_better=greater
    )


def crossed_noninferiority(
    a: Any, b: Any, margin: float, alpha: float, paired: bool = False
) -> CrossedResult:
    """One-sided crossed examples x runs test of H0: mean(a) - mean(b) <= -margin (`paired`:
    row i of `a` and of `b` share a seed)."""
    test = paired_crossed_difference_test if paired else crossed_difference_test
    r = test(a, b, alternative="greater", null_difference=-margin, confidence_level=1 - 2 * alpha)
    name = "paired crossed seeds x examples" if paired else "crossed examples x runs"
    return dataclasses.replace(r, test=f"{name} non-inferiority (margin {margin:g})")


def drift_evidence(
    treatment: Any,
    reference: Any,
    th: Thresholds,
    family: int = 1,
    paired: bool = False,
    names: tuple[str, str] = ("treatment", "reference"),
) -> Evidence:
    """Part B: the treatment's drift per seed is at least `drift_reduction` below the
    reference's (ratio of geometric means); `names`: what its sentence calls the two."""
    name, need = DRIFT, th.drift_reduction
    raw = samples(False, treatment=treatment, reference=reference)
    called = dict(zip(raw, names, strict=True))
    if unmoved := [called[k] for k, v in raw.items() if np.any(v <= 0)]:
        # A selected model identical to the base (step 0, or a learning rate of 0 in warmup).
        why = (
            f"{' and '.join(unmoved)} drift is 0 in some seed (the selected model equals the "
            "base), and a ratio on the log scale cannot take 0: no test"
        )
        n_seeds, nan = {k: int(v.size) for k, v in raw.items()}, math.nan
        return Evidence(
            name, nan, nan, nan, need, True, "none", nan, n_seeds, th.alpha, why, "seeds"
        )  # fmt: skip
    groups = samples(True, treatment=treatment, reference=reference)
    observed = 1.0 - gm_ratio(groups["treatment"], groups["reference"])
    point = (observed, f"reduction = {pct(observed)}")
    early = untestable(name, groups, point, need, th, "seeds")
    if early is not None:
        return early
    test = paired_log_ratio_test if paired else log_ratio_test
    unit = "seeds (paired by seed)" if paired else "seeds"
    try:
        r = test(
            groups["treatment"],
            groups["reference"],
            threshold=1.0 - need,
            alternative="less",
            confidence_level=1 - 2 * th.alpha / family,
        )
    except ValueError as exc:
        return no_test(name, groups, point, need, th, unit, f"no test: {exc}")
    # reduction = 1 - GM(lora) / GM(full): the ratio's upper bound is the reduction's lower one.
    reduction, ci = 1.0 - r.estimate, (1.0 - r.ci_high, 1.0 - r.ci_low)
    describe = (
        f"reduction = {pct(reduction)} ({100 * r.confidence_level:.0f}% CI {pct(ci[0])} "
        f"to {pct(ci[1])}; needed >= {pct(need)})"
    )
    return evidence(name, r, reduction, ci, need, True, groups, th, describe, unit)


def serving_evidence(
    merged: Any, adapters: Any, th: Thresholds, family: int = 1, paired: bool = False
) -> Evidence:
    """Part C: paired timings (A-B-A pairs) by the signed-rank test of their log ratios with a
    Hodges–Lehmann interval; unpaired ones (older results) by Welch on log latency."""
    name, limit = SERVING, th.serving_overhead
    groups = samples(True, merged=merged, adapters=adapters)
    unit = "pairs" if paired else "measurements"
    observed = gm_ratio(groups["adapters"], groups["merged"]) - 1.0
    point = (observed, f"overhead = {pct(observed)}")
    early = untestable(name, groups, point, limit, th, unit)
    if early is not None:
        return early
    test = paired_signed_rank_log_ratio if paired else log_ratio_test
    r = test(
        groups["adapters"],
        groups["merged"],
        threshold=1.0 + limit,
        alternative="less",
        confidence_level=1 - 2 * th.alpha / family,
    )
    overhead, ci = r.estimate - 1.0, (r.ci_low - 1.0, r.ci_high - 1.0)
    what = "overhead (paired ratio - 1, Hodges-Lehmann median of pairs)" if paired else "overhead"
    mean = f"; geometric mean {pct(observed)}" if paired else ""
    role = (
        f"tested inside H at alpha/2 = {th.alpha / 2:g}"
        if family == 2
        else f"tested alone at alpha = {th.alpha:g}"
    )
    describe = (
        f"{what} = {pct(overhead)} ({100 * r.confidence_level:.0f}% CI {pct(ci[0])} "
        f"to {pct(ci[1])}{mean}; allowed <= {pct(limit)}; {role})"
    )
    return evidence(name, r, overhead, ci, limit, False, groups, th, describe, unit)


def not_measured(
    name: str,
    threshold: float,
    higher_is_better: bool,
    groups: tuple[str, str],
    th: Thresholds,
    reason: str,
    unit: str,
) -> Evidence:
    """Evidence of a part that has no data to test, with the reason."""
    nan, n_seeds = math.nan, dict.fromkeys(groups, 0)
    return Evidence(
        name, nan, nan, nan, threshold, higher_is_better, "none", nan, n_seeds, th.alpha,
        reason, unit,
    )  # fmt: skip


def serving_not_measured(th: Thresholds, reason: str) -> Evidence:
    name = SERVING
    groups = ("merged", "adapters")
    return not_measured(name, th.serving_overhead, False, groups, th, reason, "measurements")


def named(ev: Evidence, names: tuple[str, str]) -> Evidence:
    """`ev` with its groups' counts under the compared variants' names (treatment, reference)
    instead of "treatment" and "reference"."""
    rename = {"treatment": names[0], "reference": names[1]}
    return dataclasses.replace(ev, n_seeds={rename.get(k, k): n for k, n in ev.n_seeds.items()})


def noted(ev: Evidence, note: str) -> Evidence:
    """`ev` with `note` added to its description."""
    return dataclasses.replace(ev, describe=f"{ev.describe}; {note}") if note else ev
