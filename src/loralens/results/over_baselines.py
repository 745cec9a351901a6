"""What learned: each variant's test score against the baselines, decided once by the analysis.

Per task and variant, on the task's primary metric: the mean test score over seeds, its
difference to each of the majority, random and zero-shot baselines with an interval, the best of
those baselines in the metric's direction (the minimum for a lower-is-better metric such as
NLL), whether the variant beats the majority baseline and whether it is below zero-shot.

The interval is the one-sample t interval over training seeds of the variant's test scores
minus the baseline's score (`stats.seeds.one_sample_t_test`), at 1 - 2 alpha: "beats the
majority baseline" is its near bound lying past the majority's score, i.e. the one-sided t-test
at alpha, the convention of the performance part of H. It is chosen over the crossed examples x
runs interval (`stats.crossed`) because the seed is the unit of replication for methods
(DESIGN.md), it applies to every primary metric (F1, MCC, NLL; the crossed test needs per-example
correctness, so accuracy only) and it needs no second group of runs: each baseline here is one
fixed score on the same test set (majority and zero-shot are deterministic; random is the mean of
its seeds), so it carries no sampling error of its own in this comparison. With fewer than two
seeds, or seeds that all scored the same, there is no interval and the mean decides; such a
comparison is inconclusive on its seeds anyway, so the mean can never let a model that did not
learn make a verdict "supported".
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from loralens.stats.seeds import one_sample_t_test
from loralens.task_metrics import get_metric

# The baselines a fine-tune must beat to have learned (the encoder is another model fine-tuned).
LEARNING_BASELINES = ("majority", "random", "zero_shot")


def baseline_scores(baselines: Sequence[dict], task: str, metric: str) -> dict[str, float]:
    """The task's majority, random and zero-shot test scores on `metric` (those it has)."""
    out = {}
    for b in baselines:
        value = (b.get("test") or {}).get(metric)
        if b["task"] == task and b["name"] in LEARNING_BASELINES and _finite(value):
            out[b["name"]] = float(value)
    return out


def best_baseline(scores: dict[str, float], greater: bool) -> str | None:
    """The name of the best score in the metric's direction (None: no baseline)."""
    if not scores:
        return None
    return (max if greater else min)(scores, key=scores.__getitem__)


def difference(
    values: Sequence[float], name: str, score: float, level: float, greater: bool
) -> dict[str, Any]:
    """mean(values) - score with its t interval over seeds at `level` (none: one seed, or no
    variation across seeds)."""
    arr = np.asarray(values, dtype=float)
    out = {"baseline": name, "baseline_score": score, "confidence_level": level}
    if arr.size < 2 or np.ptp(arr) == 0:
        why = "one seed" if arr.size < 2 else "every seed scored the same"
        none = {"ci_low": None, "ci_high": None, "p_value": None}
        return {**out, "estimate": float(arr.mean()) - score, **none, "interval": f"none: {why}"}
    alternative = "greater" if greater else "less"
    r = one_sample_t_test(arr, reference=score, alternative=alternative, confidence_level=level)
    return {
        **out,
        "estimate": r.estimate,
        "ci_low": r.ci_low,
        "ci_high": r.ci_high,
        "p_value": r.p_value,
        "interval": f"one-sample t over {arr.size} seeds",
    }


def beats(diff: dict[str, Any], greater: bool) -> bool:
    """Whether the interval's near bound (no interval: the mean) lies past the baseline."""
    bound = diff["ci_low"] if greater else diff["ci_high"]
    bound = bound if _finite(bound) else diff["estimate"]
    return bound > 0 if greater else bound < 0


def over_baseline_row(
    task: str,
    variant: str,
    values: list[float],
    scores: dict[str, float],
    metric: str,
    alpha: float,
) -> dict[str, Any]:
    """One task x variant: its mean test score against every baseline, the best one, the flags."""
    greater = get_metric(metric).greater_is_better
    level = 1 - 2 * alpha
    versus = {name: difference(values, name, s, level, greater) for name, s in scores.items()}
    best = best_baseline(scores, greater)
    mean, zero_shot = float(np.mean(values)), scores.get("zero_shot")
    return {
        "task": task,
        "method": variant,
        "metric": metric,
        "greater_is_better": greater,
        "n_seeds": len(values),
        "mean": mean,
        "versus": versus,
        "best_baseline": best,
        "over_best": versus[best] if best else None,
        "beats_majority": beats(versus["majority"], greater) if "majority" in versus else None,
        "below_zero_shot": None
        if zero_shot is None
        else bool(mean < zero_shot if greater else mean > zero_shot),
    }


def over_baseline_rows(
    runs: Sequence[dict], baselines: Sequence[dict], primary: dict[str, str], alpha: float
) -> list[dict[str, Any]]:
    """Per task x variant (in run order): the primary metric's test score against the baselines."""
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in sorted(runs, key=lambda r: r["seed"]):
        value = (r.get("test") or {}).get(primary.get(r["task"], ""))
        if _finite(value):
            values[(r["task"], r["method"])].append(float(value))
    return [
        over_baseline_row(
            task, variant, v, baseline_scores(baselines, task, primary[task]), primary[task], alpha
        )
        for (task, variant), v in values.items()
    ]


def _finite(x: Any) -> bool:
    """Whether `x` is a finite number (not a bool)."""
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def unlearned_reason(row: dict[str, Any]) -> str:
    """Why a variant counts as not having learned: its score and interval against majority."""
    d, metric = row["versus"]["majority"], row["metric"]
    if _finite(d["ci_low"]):
        where = (
            f"{100 * d['confidence_level']:.0f}% CI of the difference {d['ci_low']:+.4g} to "
            f"{d['ci_high']:+.4g}, {d['interval']}"
        )
    else:
        where = f"no interval ({d['interval'].removeprefix('none: ')}): the mean decides"
    return (
        f"{row['method']} does not beat the majority baseline on test: mean {metric} "
        f"{row['mean']:.4g} against majority's {d['baseline_score']:.4g} ({where})"
    )


def gate(rows: Sequence[dict], task: str, variants: Sequence[str]) -> tuple[str, list[str]]:
    """(why a comparison of `variants` on `task` is not applicable, '' if it is; the variants
    whose mean test score is below zero-shot)."""
    mine = {r["method"]: r for r in rows if r["task"] == task}
    rows_of = [mine[v] for v in variants if v in mine]
    reason = "; ".join(unlearned_reason(r) for r in rows_of if r["beats_majority"] is False)
    return reason, [r["method"] for r in rows_of if r["below_zero_shot"]]


def unlearned_tasks(rows: Sequence[dict], keys: Sequence[tuple[str, str, str]]) -> dict[str, str]:
    """Per task with a comparison (`keys`: task, treatment, reference) of a variant that did not
    learn: why, naming each such variant once."""
    compared: dict[str, list[str]] = defaultdict(list)
    for task, *pair in keys:
        compared[task] += [v for v in pair if v not in compared[task]]
    reasons = {task: gate(rows, task, variants)[0] for task, variants in compared.items()}
    return {task: why for task, why in reasons.items() if why}


__all__ = ["gate", "over_baseline_rows", "unlearned_tasks"]
