"""Tidy views of results.json for tables and figures: grouping and mean ± SD, no new statistics."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from loralens.report.fmt import finite, num

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


def section(results: Mapping[str, Any], key: str) -> Any:
    """A top-level section, None when absent or empty."""
    value = results.get(key)
    return value or None


def records(results: Mapping[str, Any], key: str, sub: str | None = None) -> list[dict]:
    """The list of dict records under `key` (or `key.sub`), empty when absent."""
    value = results.get(key)
    if sub is not None:
        value = value.get(sub) if isinstance(value, Mapping) else None
    return [r for r in value if isinstance(r, Mapping)] if isinstance(value, list) else []


def _ordered(declared: Any, seen: Iterable[Any]) -> list[str]:
    """Declared names first (in order), then any others seen in the data."""
    out = [str(x) for x in declared] if isinstance(declared, list) else []
    for x in seen:
        if x is not None and str(x) not in out:
            out.append(str(x))
    return out


def study(results: Mapping[str, Any]) -> dict:
    """The study block (empty dict when absent)."""
    value = results.get("study")
    return dict(value) if isinstance(value, Mapping) else {}


def tasks(results: Mapping[str, Any]) -> list[str]:
    """Task names: the study's order, then any others in runs or data."""
    seen = [r.get("task") for r in records(results, "runs")]
    data = results.get("data")
    seen += list(data) if isinstance(data, Mapping) else []
    return _ordered(study(results).get("tasks"), seen)


def methods(results: Mapping[str, Any]) -> list[str]:
    """Method names: the study's order, then any others in the runs."""
    seen = [r.get("method") for r in records(results, "runs")]
    seen += [r.get("method") for r in records(results, "drift", "summary")]
    return _ordered(study(results).get("methods"), seen)


def seeds(results: Mapping[str, Any]) -> list[str]:
    """Seeds of the study (or those seen in runs)."""
    return _ordered(study(results).get("seeds"), [r.get("seed") for r in records(results, "runs")])


def metrics(results: Mapping[str, Any]) -> list[str]:
    """Test metric names in the runs, accuracy first."""
    names = _ordered([], (m for r in records(results, "runs") for m in (r.get("test") or {})))
    return sorted(names, key=lambda m: (m != "accuracy", names.index(m)))


def primary_metric(results: Mapping[str, Any]) -> str | None:
    """The metric the figures and summary use: the analysis' decision when it names one metric
    for every task, else the first metric present (accuracy when present)."""
    decisions = results.get("decisions")
    chosen = decisions.get("primary_metric") if isinstance(decisions, Mapping) else None
    if isinstance(chosen, Mapping) and len(set(chosen.values())) == 1:
        return str(next(iter(chosen.values())))
    names = metrics(results)
    return names[0] if names else None


def tasks_in(results: Mapping[str, Any], data: Mapping[tuple, Any]) -> list[str]:
    """The study's tasks, in order, that key some entry of `data` (keys start with the task)."""
    return [t for t in tasks(results) if any(k[0] == t for k in data)]


def task_metric(results: Mapping[str, Any], task: str) -> str | None:
    """The primary metric of `task` the analysis decided (older results: the common one)."""
    decisions = results.get("decisions")
    chosen = decisions.get("primary_metric") if isinstance(decisions, Mapping) else None
    if isinstance(chosen, Mapping) and task in chosen:
        return str(chosen[task])
    return primary_metric(results)


def metric_names(results: Mapping[str, Any], tasks: Iterable[str]) -> dict[str, str]:
    """{task: its primary metric} for the tasks that have one."""
    return {t: m for t in tasks if (m := task_metric(results, t)) is not None}


def runs_by(results: Mapping[str, Any]) -> dict[tuple[str, str], list[dict]]:
    """Runs grouped by (task, method)."""
    out: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in records(results, "runs"):
        out[(str(r.get("task")), str(r.get("method")))].append(r)
    return dict(out)


def run_metric(results: Mapping[str, Any], task: str, method: str, metric: str) -> Summary:
    """Mean ± SD over seeds of one test metric of one task and method."""
    runs = runs_by(results).get((task, method), [])
    return summarize((r.get("test") or {}).get(metric) for r in runs)


def baselines(results: Mapping[str, Any], task: str) -> list[dict]:
    """Baseline records of one task, in the canonical order."""
    rows = [b for b in records(results, "baselines") if str(b.get("task")) == task]
    rank = {n: i for i, n in enumerate(BASELINE_ORDER)}
    return sorted(rows, key=lambda b: rank.get(str(b.get("name")), len(rank)))


def baseline_spread(b: Mapping[str, Any], metric: str) -> tuple[list | None, float]:
    """A baseline's CI for `metric` (or None) and its SD over seeds (or NaN)."""
    ci = (b.get("ci") or {}).get(metric)
    sd = (b.get("std") or {}).get(metric) if isinstance(b.get("std"), Mapping) else None
    return (ci if isinstance(ci, list) else None), num(sd)


def drift_decision(results: Mapping[str, Any]) -> Mapping[str, Any]:
    """decisions.drift: the pooling, measure and per-task step the analysis compared at."""
    return (results.get("decisions") or {}).get("drift") or {}


def drift_pooling(results: Mapping[str, Any]) -> str | None:
    """The pooling the analysis compared (older results: 'mean' when present)."""
    decided = drift_decision(results).get("pooling")
    if decided:
        return str(decided)
    seen = _ordered([], (r.get("pooling") for r in records(results, "drift", "rows")))
    return "mean" if "mean" in seen else (seen[0] if seen else None)


def compared_step(results: Mapping[str, Any], task: str) -> int | None:
    """The matched step drift of `task` is compared at (None: older results, or not compared)."""
    step = (drift_decision(results).get("step") or {}).get(task)
    return int(step) if finite(step) else None


def at_compared_step(results: Mapping[str, Any], r: Mapping[str, Any]) -> bool:
    """Whether a drift row or summary is the one compared: the matched step, else selected."""
    if not drift_decision(results):
        return bool(r.get("selected"))
    step = compared_step(results, str(r.get("task")))
    return step is not None and not r.get("selected") and r.get("step") == step


def compared_label(results: Mapping[str, Any]) -> str:
    """'step 30' (one matched step), 'matched steps', or 'selected step' (older results)."""
    steps = {s for s in (drift_decision(results).get("step") or {}).values() if finite(s)}
    if not drift_decision(results):
        return "selected step"
    return f"step {int(steps.pop())}" if len(steps) == 1 else "matched steps"


def drift_rows(results: Mapping[str, Any], compared_only: bool = False) -> list[dict]:
    """Drift rows of the compared pooling with a finite drift (optionally at the compared step)."""
    pooling = drift_pooling(results)
    rows = [
        r
        for r in records(results, "drift", "rows")
        if r.get("pooling") == pooling and finite(r.get("drift"))
    ]
    if compared_only:
        return [r for r in rows if at_compared_step(results, r)]
    return [r for r in rows if not r.get("selected")] if drift_decision(results) else rows


def _extreme(pick: Any, values: Iterable[float]) -> float:
    """min or max of the finite values, NaN when there are none."""
    finite_values = [v for v in values if math.isfinite(v)]
    return float(pick(finite_values)) if finite_values else math.nan


def drift_by_layer(results: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Per (task, method): layers, mean drift over seeds, and the envelope of per-seed CIs."""
    cells: dict[tuple[str, str], dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in drift_rows(results, compared_only=True):
        cells[(str(r["task"]), str(r["method"]))][int(num(r.get("layer")))].append(r)
    out = {}
    for key, by_layer in cells.items():
        layers = sorted(by_layer)
        mean = [summarize(x["drift"] for x in by_layer[la]).mean for la in layers]
        # A row's CKA CI [lo, hi] is the drift interval [1 - hi, 1 - lo] (None: no CI).
        cis = [[x.get("cka_ci") or [None, None] for x in by_layer[la]] for la in layers]
        low = [_extreme(min, (1 - num(c[1]) for c in cs)) for cs in cis]
        high = [_extreme(max, (1 - num(c[0]) for c in cs)) for cs in cis]
        out[key] = {
            k: np.array(v, dtype=float)
            for k, v in {"layer": layers, "mean": mean, "low": low, "high": high}.items()
        }
    return out


def drift_over_steps(results: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Per (task, method): steps and mean ± SD over seeds of the layer-mean drift."""
    per_seed: dict[tuple[str, str, str, int], list[float]] = defaultdict(list)
    for r in drift_rows(results):
        key = (str(r["task"]), str(r["method"]), str(r.get("seed")), int(num(r.get("step"))))
        per_seed[key].append(num(r["drift"]))
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


def cka_grid(results: Mapping[str, Any], task: str, method: str) -> dict[str, np.ndarray] | None:
    """Layer x step matrix of CKA averaged over seeds for one task and method (None if empty)."""
    cells: dict[tuple[int, int], list[float]] = defaultdict(list)
    for r in drift_rows(results):
        cka = r.get("cka_debiased", r.get("cka"))
        if str(r["task"]) == task and str(r["method"]) == method and finite(cka):
            cells[(int(num(r["layer"])), int(num(r["step"])))].append(num(cka))
    if not cells:
        return None
    layers = sorted({la for la, _ in cells})
    steps = sorted({s for _, s in cells})
    grid = np.full((len(layers), len(steps)), np.nan)
    for (la, s), values in cells.items():
        grid[layers.index(la), steps.index(s)] = float(np.mean(values))
    return {"layer": np.array(layers), "step": np.array(steps), "cka": grid}


def selected_summary(results: Mapping[str, Any]) -> list[dict]:
    """Drift summary rows at the compared step (older results: the selected checkpoint)."""
    rows = records(results, "drift", "summary")
    marked = [r for r in rows if "selected" in r]
    return [r for r in rows if at_compared_step(results, r)] if marked else rows


def drift_against_val(results: Mapping[str, Any]) -> dict[tuple[str, str, str], np.ndarray]:
    """Per (task, method, seed): rows (val score, layer-mean drift) over snapshot steps."""
    pooling, out = drift_pooling(results), defaultdict(list)
    for r in records(results, "drift", "summary"):
        if r.get("pooling") != pooling or r.get("selected"):
            continue
        if finite(r.get("val_score")) and finite(r.get("mean_drift")):
            key = (str(r.get("task")), str(r.get("method")), str(r.get("seed")))
            out[key].append((num(r.get("step")), num(r["val_score"]), num(r["mean_drift"])))
    return {k: np.array(sorted(v))[:, 1:] for k, v in out.items()}


def dominated_layers(results: Mapping[str, Any]) -> dict[str, list[int]]:
    """Per task: layers of the compared pooling and step where one component dominates."""
    pooling, out = drift_pooling(results), defaultdict(set)
    for r in selected_summary(results):
        if r.get("pooling") == pooling:
            out[str(r.get("task"))] |= set(r.get("dominated_layers") or [])
    return {task: sorted(v) for task, v in out.items() if v}


def drift_summary(results: Mapping[str, Any]) -> dict[tuple[str, str, str], Summary]:
    """Mean ± SD over seeds of the layer-mean drift, per (task, method, pooling)."""
    cells: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
    for r in selected_summary(results):
        key = (str(r.get("task")), str(r.get("method")), str(r.get("pooling", "mean")))
        cells[key].append(r.get("mean_drift"))
    return {k: summarize(v) for k, v in cells.items()}


def drift_performance_pairs(results: Mapping[str, Any]) -> list[dict]:
    """(task, method, seed, mean drift, the task's primary metric) of each run with both."""
    pooling = drift_pooling(results) or "mean"
    score = {}
    for r in records(results, "runs"):
        metric = task_metric(results, str(r.get("task")))
        key = (str(r.get("task")), str(r.get("method")), str(r.get("seed")))
        score[key] = (metric, (r.get("test") or {}).get(metric) if metric else None)
    out = []
    for s in selected_summary(results):
        if str(s.get("pooling", "mean")) != pooling:
            continue
        key = (str(s.get("task")), str(s.get("method")), str(s.get("seed")))
        metric, value = score.get(key, (None, None))
        if finite(s.get("mean_drift")) and finite(value):
            out.append(
                {
                    "task": key[0],
                    "method": key[1],
                    "seed": key[2],
                    "drift": num(s["mean_drift"]),
                    "score": num(value),
                    "metric": metric,
                }
            )
    return out
