"""Tidy views of the results for tables and figures: grouping and mean ± SD, no new statistics."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from loralens.report.fmt import finite, num
from loralens.results.schema import Baseline, DriftRow, DriftSummary, Results, Run

BASELINE_ORDER = ("majority", "random", "zero_shot", "encoder")


@dataclass(frozen=True)
class Summary:
    """Mean, sample SD (NaN below two values) and count of finite values."""

    mean: float
    sd: float
    n: int


def summarize(values: Iterable[Any]) -> Summary:
    """Mean ± SD over the finite values (presentation arithmetic across seeds)."""
    arr = np.array([num(v) for v in values], dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return Summary(math.nan, math.nan, 0)
    sd = float(arr.std(ddof=1)) if arr.size > 1 else math.nan
    return Summary(float(arr.mean()), sd, int(arr.size))


def _ordered(declared: Iterable[Any], seen: Iterable[Any]) -> list[str]:
    """Declared names first (in order), then any others seen in the data."""
    out = [str(x) for x in declared]
    for x in seen:
        if x is not None and str(x) not in out:
            out.append(str(x))
    return out


def tasks(results: Results) -> list[str]:
    """Task names: the study's order, then any others in runs or data."""
    return _ordered(results.study.tasks, [*(r.task for r in results.runs), *results.data])


def methods(results: Results) -> list[str]:
    """Method names: the study's order, then any others in the runs."""
    seen = [*(r.method for r in results.runs), *(r.method for r in results.drift.summary)]
    return _ordered(results.study.methods, seen)


def seeds(results: Results) -> list[str]:
    """Seeds of the study (or those seen in runs)."""
    return _ordered(results.study.seeds, (r.seed for r in results.runs))


def metrics(results: Results) -> list[str]:
    """Test metric names in the runs, accuracy first."""
    names = _ordered([], (m for r in results.runs for m in r.test))
    return sorted(names, key=lambda m: (m != "accuracy", names.index(m)))


def tasks_in(results: Results, data: Iterable[tuple]) -> list[str]:
    """The study's tasks, in order, that key some entry of `data` (keys start with the task)."""
    keys = list(data)
    return [t for t in tasks(results) if any(k[0] == t for k in keys)]


def task_metric(results: Results, task: str) -> str:
    """The primary metric of `task` the analysis decided."""
    return results.decisions.primary_metric[task]


def metric_names(results: Results, tasks: Iterable[str]) -> dict[str, str]:
    """{task: its primary metric}."""
    return {t: task_metric(results, t) for t in tasks}


def runs_by(results: Results) -> dict[tuple[str, str], list[Run]]:
    """Runs grouped by (task, method)."""
    out: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for r in results.runs:
        out[(r.task, r.method)].append(r)
    return dict(out)


def runs_of(results: Results, task: str, method: str) -> list[Run]:
    """The runs of one task and method."""
    return [r for r in results.runs if r.task == task and r.method == method]


def test_value(run: Run, metric: str) -> float | None:
    """A run's test score on `metric` (None: a metric of another task)."""
    if metric not in run.test:
        return None
    return run.test[metric]


def run_metric(results: Results, task: str, method: str, metric: str) -> Summary:
    """Mean ± SD over seeds of one test metric of one task and method."""
    return summarize(test_value(r, metric) for r in runs_of(results, task, method))


def baselines(results: Results, task: str) -> list[Baseline]:
    """Baseline records of one task, in the canonical order."""
    rows = [b for b in results.baselines if b.task == task]
    rank = {n: i for i, n in enumerate(BASELINE_ORDER)}
    return sorted(rows, key=lambda b: rank[b.name] if b.name in rank else len(rank))


def baseline_value(b: Baseline, metric: str) -> float | None:
    """A baseline's test score on `metric` (None: a metric of another task)."""
    if metric not in b.test:
        return None
    return b.test[metric]


def baseline_spread(b: Baseline, metric: str) -> tuple[list | None, float]:
    """A baseline's CI for `metric` (or None) and its SD over seeds (or NaN)."""
    ci = b.ci[metric] if b.ci is not None and metric in b.ci else None
    sd = b.std[metric] if b.std is not None and metric in b.std else None
    return ci, num(sd)


def drift_pooling(results: Results) -> str:
    """The pooling the analysis compared."""
    return results.decisions.drift.pooling


def compared_step(results: Results, task: str) -> int | None:
    """The matched step drift of `task` is compared at (None: not compared)."""
    return results.decisions.drift.step[task]


def at_compared_step(results: Results, r: DriftRow | DriftSummary) -> bool:
    """Whether a drift row or summary is the one compared: the matched step, not `selected`."""
    step = compared_step(results, r.task)
    return step is not None and not r.selected and r.step == step


def compared_label(results: Results) -> str:
    """'step 30' (one matched step) or 'matched steps'."""
    steps = {s for s in results.decisions.drift.step.values() if s is not None}
    return f"step {steps.pop()}" if len(steps) == 1 else "matched steps"


def drift_rows(results: Results, compared_only: bool = False) -> list[DriftRow]:
    """Drift rows of the compared pooling with a finite drift (optionally at the compared step)."""
    pooling = drift_pooling(results)
    rows = [r for r in results.drift.rows if r.pooling == pooling and finite(r.drift)]
    if compared_only:
        return [r for r in rows if at_compared_step(results, r)]
    return [r for r in rows if not r.selected]


def _extreme(pick: Any, values: Iterable[float]) -> float:
    """min or max of the finite values, NaN when there are none."""
    finite_values = [v for v in values if math.isfinite(v)]
    return float(pick(finite_values)) if finite_values else math.nan


def drift_by_layer(results: Results) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Per (task, method): layers, mean drift over seeds, and the envelope of per-seed CIs."""
    cells: dict[tuple[str, str], dict[int, list[DriftRow]]] = defaultdict(lambda: defaultdict(list))
    for r in drift_rows(results, compared_only=True):
        cells[(r.task, r.method)][r.layer].append(r)
    out = {}
    for key, by_layer in cells.items():
        layers = sorted(by_layer)
        mean = [summarize(x.drift for x in by_layer[la]).mean for la in layers]
        # A row's CKA CI [lo, hi] is the drift interval [1 - hi, 1 - lo] (None: no CI).
        cis = [[x.cka_ci or [None, None] for x in by_layer[la]] for la in layers]
        low = [_extreme(min, (1 - num(c[1]) for c in cs)) for cs in cis]
        high = [_extreme(max, (1 - num(c[0]) for c in cs)) for cs in cis]
        out[key] = {
            k: np.array(v, dtype=float)
            for k, v in {"layer": layers, "mean": mean, "low": low, "high": high}.items()
        }
    return out


def drift_over_steps(results: Results) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Per (task, method): steps and mean ± SD over seeds of the layer-mean drift."""
    per_seed: dict[tuple[str, str, int, int], list[float]] = defaultdict(list)
    for r in drift_rows(results):
        per_seed[(r.task, r.method, r.seed, r.step)].append(num(r.drift))
    by_step: dict[tuple[str, str], dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for (task, method, _seed, step), values in per_seed.items():
        by_step[(task, method)][step].append(float(np.mean(values)))
    out = {}
    for key, steps in by_step.items():
        xs = sorted(steps)
        stats = [summarize(steps[s]) for s in xs]
        out[key] = {
            "step": np.array(xs, dtype=float),
            "mean": np.array([s.mean for s in stats]),
            "sd": np.array([s.sd for s in stats]),
        }
    return out


def cka_grid(results: Results, task: str, method: str) -> dict[str, np.ndarray] | None:
    """Layer x step matrix of CKA averaged over seeds for one task and method (None if empty)."""
    cells: dict[tuple[int, int], list[float]] = defaultdict(list)
    for r in drift_rows(results):
        if r.task == task and r.method == method and finite(r.cka_debiased):
            cells[(r.layer, r.step)].append(num(r.cka_debiased))
    if not cells:
        return None
    layers = sorted({la for la, _ in cells})
    steps = sorted({s for _, s in cells})
    grid = np.full((len(layers), len(steps)), np.nan)
    for (la, s), values in cells.items():
        grid[layers.index(la), steps.index(s)] = float(np.mean(values))
    return {"layer": np.array(layers), "step": np.array(steps), "cka": grid}


def selected_summary(results: Results) -> list[DriftSummary]:
    """Drift summary rows at the compared step."""
    return [r for r in results.drift.summary if at_compared_step(results, r)]


def drift_against_val(results: Results) -> dict[tuple[str, str, str], np.ndarray]:
    """Per (task, method, seed): rows (val score, layer-mean drift) over snapshot steps."""
    pooling, out = drift_pooling(results), defaultdict(list)
    for r in results.drift.summary:
        if r.pooling != pooling or r.selected:
            continue
        if finite(r.val_score) and finite(r.mean_drift):
            key = (r.task, r.method, str(r.seed))
            out[key].append((r.step, num(r.val_score), num(r.mean_drift)))
    return {k: np.array(sorted(v))[:, 1:] for k, v in out.items()}


def dominated_layers(results: Results) -> dict[str, list[int]]:
    """Per task: layers of the compared pooling and step where one component dominates."""
    pooling, out = drift_pooling(results), defaultdict(set)
    for r in selected_summary(results):
        if r.pooling == pooling:
            out[r.task] |= set(r.dominated_layers)
    return {task: sorted(v) for task, v in out.items() if v}


def drift_summary(results: Results) -> dict[tuple[str, str, str], Summary]:
    """Mean ± SD over seeds of the layer-mean drift, per (task, method, pooling)."""
    cells: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
    for r in selected_summary(results):
        cells[(r.task, r.method, r.pooling)].append(r.mean_drift)
    return {k: summarize(v) for k, v in cells.items()}


def drift_performance_pairs(results: Results) -> list[dict]:
    """(task, method, seed, mean drift, the task's primary metric) of each run with both."""
    pooling = drift_pooling(results)
    score: dict[tuple[str, str, int], tuple[str, float | None]] = {}
    for r in results.runs:
        metric = task_metric(results, r.task)
        score[(r.task, r.method, r.seed)] = (metric, test_value(r, metric))
    out = []
    for s in selected_summary(results):
        key = (s.task, s.method, s.seed)
        if s.pooling != pooling or key not in score:
            continue
        metric, value = score[key]
        if finite(s.mean_drift) and finite(value):
            out.append(
                {
                    "task": s.task,
                    "method": s.method,
                    "seed": str(s.seed),
                    "drift": num(s.mean_drift),
                    "score": num(value),
                    "metric": metric,
                }
            )
    return out
