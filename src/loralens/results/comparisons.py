"""The study's statistical comparisons, computed once by the analysis stage."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd

from loralens.errors import LoralensError
from loralens.stats.anova import two_way_anova
from loralens.stats.crossed import crossed_difference_test, paired_crossed_difference_test
from loralens.stats.effect_size import hedges_g
from loralens.stats.hypotheses import Thresholds
from loralens.stats.mcnemar import mcnemar_from_predictions
from loralens.stats.power import seeds_for_noninferiority
from loralens.stats.seeds import mann_whitney_u, welch_t_test


def _by_task_method(runs: list[dict]) -> dict[str, dict[str, list[dict]]]:
    out: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in sorted(runs, key=lambda r: r["seed"]):
        out[r["task"]][r["method"]].append(r)
    return out


def comparisons(
    base_method: dict[str, str], order: list[str], compare: list[list[str]]
) -> list[tuple[str, str]]:
    """(treatment, reference) variant pairs: `compare` as given, else every variant that is not
    full fine-tuning against the first that is (in study order); `base_method` per variant."""
    if compare:
        return [(t, r) for t, r in compare]
    full = next((v for v in order if base_method.get(v) == "full"), None)
    if full is None:
        return []
    return [(v, full) for v in order if v in base_method and base_method[v] != "full"]


def _safe(fn, *args, **kwargs) -> dict[str, Any]:
    """A test's result as a dict, or {"not_computed": why} when the data cannot support it."""
    # The stats layer raises ValueError for data it cannot test (too few seeds, one level, no
    # residual degrees of freedom); anything else is a bug and propagates.
    try:
        return fn(*args, **kwargs).to_dict()
    except ValueError as exc:
        return {"not_computed": str(exc)}


def example_matrix(runs: list[dict], metric: str) -> np.ndarray:
    """(runs, examples) per-example test scores of `metric`, whose row means are the runs' test
    scores; ValueError when the metric is not a per-example mean or the runs' examples differ."""
    if any(metric not in (r.get("example_scores") or {}) for r in runs):
        raise ValueError(f"{metric} is not a mean of per-example scores, or a run lacks them")
    keys = [r.get("example_keys") for r in runs]
    if not keys[0] or any(k != keys[0] for k in keys):
        raise ValueError("the runs do not all score the same test examples")
    scores = np.asarray([r["example_scores"][metric] for r in runs], dtype=float)
    reported = np.asarray([r["test"][metric] for r in runs], dtype=float)
    if not np.allclose(scores.mean(1), reported, rtol=0, atol=1e-9):
        raise ValueError(f"the per-example scores' means are not the runs' test {metric}")
    return scores


def paired(treatment: list[dict], reference: list[dict]) -> bool:
    """Whether the two methods' runs pair by seed (the same seeds, two or more, in seed order):
    runs of one seed share the data order and head initialisation."""
    seeds = [r["seed"] for r in treatment]
    return len(seeds) > 1 and seeds == [r["seed"] for r in reference]


def per_example(treatment: list[dict], reference: list[dict], metric: str) -> dict[str, Any]:
    """The crossed examples x runs test of the primary metric (paired by seed where the runs
    pair), or why it was not computed."""
    try:
        scores = example_matrix(treatment + reference, metric)  # (runs, examples)
    except ValueError as exc:
        return {"not_computed": str(exc)}
    test = (
        paired_crossed_difference_test if paired(treatment, reference) else crossed_difference_test
    )
    return _safe(test, scores[: len(treatment)], scores[len(treatment) :])


def examples_of(treatment: list[dict], reference: list[dict], metric: str) -> dict[str, Any] | None:
    """The two methods' (runs, examples) scores for verdict A's crossed test, or None (then
    Welch across seeds decides): `metric` is not a per-example mean, or the runs' examples
    differ."""
    try:
        scores = example_matrix(treatment + reference, metric)  # (runs, examples)
    except ValueError:
        return None
    return {"treatment": scores[: len(treatment)], "reference": scores[len(treatment) :]}


def compare_accuracy(
    task: str,
    metric: str,
    treatment: list[dict],
    reference: list[dict],
    th: Thresholds | None = None,
) -> dict:
    """Welch, Mann-Whitney, Hedges' g across seeds, the seeds a non-inferiority test at the
    margin would need (planning); the crossed examples x runs test of accuracy; McNemar per
    seed pair (description)."""
    th = th or Thresholds()
    a = [r["test"][metric] for r in treatment]
    b = [r["test"][metric] for r in reference]
    mcnemar = [
        _safe(mcnemar_from_predictions, la["predictions"], fu["predictions"], la["labels"])
        for la, fu in zip(treatment, reference, strict=False)
    ]
    # Each McNemar pair is about two particular models (same seed index, sharing the head
    # initialisation and data order), not about the methods: a description, never corrected
    # or counted as evidence. The inference about methods is across seeds.
    return {
        "task": task,
        "metric": metric,
        "treatment": treatment[0]["method"],
        "reference": reference[0]["method"],
        "treatment_values": a,
        "reference_values": b,
        "unit": "training seed; runs of one seed share data order and head initialisation, so "
        "verdict A and the per-example test pair them when both methods have the same seeds "
        "(Welch, Mann-Whitney and Hedges' g here do not); the per-example test crosses test "
        "examples with runs; McNemar per seed pair describes two particular models and is not "
        "a test of the methods",
        "welch": _safe(welch_t_test, a, b),
        "mann_whitney": _safe(mann_whitney_u, a, b),
        "hedges_g": _safe(hedges_g, a, b),
        "power": _safe(seeds_for_noninferiority, a, b, margin=th.accuracy_margin, alpha=th.alpha),
        "per_example": per_example(treatment, reference, metric),
        "mcnemar_per_seed_pair": mcnemar,
    }


def anova_table(runs: list[dict], metric: str) -> dict:
    """Two-way ANOVA method x task of the runs' `metric` (tasks whose primary metric it is), or
    why it was not computed."""
    frame = pd.DataFrame(
        {
            metric: [r["test"][metric] for r in runs],
            "method": [r["method"] for r in runs],  # the variant: each is its own level
            "task": [r["task"] for r in runs],
        }
    )
    n_tasks, n_methods = frame["task"].nunique(), frame["method"].nunique()
    if n_tasks < 2 or n_methods < 2:
        why = (
            f"needs at least two tasks and two methods on {metric}; the study has {n_tasks} "
            f"and {n_methods}"
        )
        return {"not_computed": why}
    levels = {"method": sorted(frame["method"].unique()), "task": sorted(frame["task"].unique())}
    return {**_safe(two_way_anova, frame, response=metric), "levels": levels}


def anova_tables(runs: list[dict], metric_of: dict[str, str]) -> dict[str, dict]:
    """One two-way ANOVA per primary metric, over the tasks that share it: scores of different
    metrics (F1, accuracy, NLL) are never one response with one residual variance."""
    return {
        metric: anova_table([r for r in runs if metric_of[r["task"]] == metric], metric)
        for metric in sorted({metric_of[r["task"]] for r in runs})
    }


def shared_thresholds(th: Thresholds) -> dict[str, float]:
    """The thresholds every task shares (part A's margin is per metric: `decisions.margins`)."""
    return {k: v for k, v in dataclasses.asdict(th).items() if k != "accuracy_margin"}


def study_statistics(
    runs: list[dict],
    th: Thresholds,
    metric_of: dict[str, str],
    pairs: list[tuple[str, str]],
    margins: dict[str, float] | None = None,
) -> tuple[dict[str, Any], dict[tuple[str, str, str], dict]]:
    """(statistics section, per (task, treatment, reference): primary-metric scores by seed);
    `margins`: part A's margin per task (default: `th`'s), for the power figure."""
    grouped = _by_task_method(runs)
    tests, verdict_inputs = [], {}
    for task, methods in grouped.items():
        metric = metric_of[task]
        for treatment, reference in pairs:
            if treatment not in methods or reference not in methods:
                continue  # this task has no finished runs of one of them
            a, b = methods[treatment], methods[reference]  # their runs
            if missing := sorted({r["method"] for r in a + b if metric not in r["test"]}):
                found = ", ".join(sorted(a[0]["test"]))
                raise LoralensError(
                    f"task {task}: its primary metric '{metric}' is not among the test metrics "
                    f"of {', '.join(missing)} ({found}); the runs and the task file disagree"
                )
            margin = th.accuracy_margin if margins is None else margins[task]
            th_task = dataclasses.replace(th, accuracy_margin=margin)
            tests.append(compare_accuracy(task, metric, a, b, th_task))
            verdict_inputs[(task, treatment, reference)] = {
                "treatment": [r["test"][metric] for r in a],
                "reference": [r["test"][metric] for r in b],
                "examples": examples_of(a, b, metric),
                "paired": paired(a, b),
            }
    stats = {
        "accuracy": tests,
        "anova": anova_tables(runs, metric_of),
        "thresholds": shared_thresholds(th),
    }
    return stats, verdict_inputs


def baseline_table(baselines: list[dict]) -> list[dict]:
    """Baselines without their per-example predictions."""
    return [{k: v for k, v in b.items() if k != "predictions"} for b in baselines]


__all__ = ["baseline_table", "comparisons", "shared_thresholds", "study_statistics"]
