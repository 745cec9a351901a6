"""Tidy views of results.json's `variants` section: cost and accuracy per variant, AdaLoRA ranks.

The analysis stage wrote the means, SDs and the Pareto flags (results/variants.py); nothing here is
recomputed except the mean over seeds of AdaLoRA's kept ranks for the heatmap.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np

from loralens.report.extract import Summary, methods, records, summarize, tasks
from loralens.report.fmt import finite, num

QLORA = "qlora"
ADALORA = "adalora"


def stat(block: Any) -> Summary:
    """A {'mean', 'sd', 'n'} block of the variants section as a Summary (NaN when absent)."""
    if not isinstance(block, Mapping):
        return Summary(math.nan, math.nan, 0)
    n = num(block.get("n"))
    return Summary(num(block.get("mean")), num(block.get("sd")), int(n) if finite(n) else 0)


def variant_rows(results: Mapping[str, Any]) -> list[dict]:
    """Variant rows ordered by task, then by the study's method order."""
    rows = records(results, "variants", "rows")
    task_order, method_order = tasks(results), methods(results)

    def rank(r: Mapping[str, Any]) -> tuple[int, int]:
        t, m = str(r.get("task")), str(r.get("method"))
        return (
            task_order.index(t) if t in task_order else len(task_order),
            method_order.index(m) if m in method_order else len(method_order),
        )

    return sorted(rows, key=rank)


def pareto_metric(rows: list[dict]) -> str | None:
    """The metric the analysis computed the Pareto front on (None when not recorded)."""
    names = [(r.get("pareto") or {}).get("metric") for r in rows]
    return next((str(n) for n in names if n), None)


def pareto_points(results: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per task: each variant's trainable parameters, metric mean ± SD and front flag."""
    rows = variant_rows(results)
    metric = pareto_metric(rows)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if metric is None:
        return {}
    for r in rows:
        params, score = stat(r.get("trainable_params")), stat((r.get("test") or {}).get(metric))
        if finite(params.mean) and params.mean > 0 and finite(score.mean):
            out[str(r.get("task"))].append(
                {
                    "method": str(r.get("method")),
                    "params": params.mean,
                    "mean": score.mean,
                    "sd": score.sd,
                    "n": score.n,
                    "on_front": bool((r.get("pareto") or {}).get("on_front")),
                }
            )
    return dict(out)


def front_line(points: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of the front's points in order of trainable parameters."""
    front = sorted((p for p in points if p["on_front"]), key=lambda p: (p["params"], -p["mean"]))
    return np.array([p["params"] for p in front]), np.array([p["mean"] for p in front])


def base_methods(results: Mapping[str, Any]) -> dict[str, str]:
    """Variant name -> registry method (lora, adalora, qlora, full), from variants and runs."""
    out = {}
    for r in [*records(results, "runs"), *records(results, "variants", "rows")]:
        if r.get("method") is not None and r.get("base_method") is not None:
            out[str(r["method"])] = str(r["base_method"])
    return out


def variants_of(results: Mapping[str, Any], base: str) -> list[str]:
    """Variant names whose registry method is `base` (e.g. 'qlora'), in study order."""
    kinds = base_methods(results)
    return [m for m in methods(results) if kinds.get(m) == base]


def adalora_grids(results: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (task, method): layer x module-type matrix of the kept rank, mean over seeds."""
    cells: dict[tuple[str, str], dict[tuple[int, str], list[Any]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for r in records(results, "variants", "adalora_ranks"):
        if finite(r.get("layer")) and finite(r.get("rank")) and r.get("module_type"):
            key = (str(r.get("task")), str(r.get("method")))
            cells[key][(int(num(r["layer"])), str(r["module_type"]))].append(r["rank"])
    out = {}
    for key, by_cell in cells.items():
        layers = sorted({la for la, _ in by_cell})
        types = list(dict.fromkeys(mt for _, mt in sorted(by_cell, key=lambda c: c[1])))
        ranks = np.full((len(layers), len(types)), np.nan)
        seeds = np.zeros((len(layers), len(types)), dtype=int)
        for (la, mt), values in by_cell.items():
            s = summarize(values)
            ranks[layers.index(la), types.index(mt)] = s.mean
            seeds[layers.index(la), types.index(mt)] = s.n
        out[key] = {"layer": np.array(layers), "module_type": types, "rank": ranks, "n": seeds}
    return out
