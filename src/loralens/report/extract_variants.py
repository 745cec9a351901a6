"""Tidy views of the results' `variants` section: cost and accuracy per variant, AdaLoRA ranks.

The analysis stage wrote the means, SDs and the Pareto flags (results/variants.py); nothing here is
recomputed except the mean over seeds of AdaLoRA's kept ranks for the heatmap.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from loralens.report.extract import Summary, methods, summarize, tasks
from loralens.report.fmt import num
from loralens.results.schema import MeanSd, Results, VariantRow

ADALORA = "adalora"


def stat(block: MeanSd | None) -> Summary:
    """A {'mean', 'sd', 'n'} block of the variants section as a Summary (NaN when absent)."""
    if block is None:
        return Summary(math.nan, math.nan, 0)
    return Summary(num(block.mean), num(block.sd), block.n)


def test_stat(row: VariantRow, metric: str) -> Summary:
    """A variant's test score on `metric` over seeds (NaN: a metric of another task)."""
    if metric not in row.test:
        return stat(None)
    return stat(row.test[metric])


def variant_rows(results: Results) -> list[VariantRow]:
    """Variant rows ordered by task, then by the study's method order."""
    task_order, method_order = tasks(results), methods(results)

    def rank(r: VariantRow) -> tuple[int, int]:
        return (
            task_order.index(r.task) if r.task in task_order else len(task_order),
            method_order.index(r.method) if r.method in method_order else len(method_order),
        )

    return sorted(results.variants.rows, key=rank)


def pareto_metric(rows: list[VariantRow]) -> str | None:
    """The metric the analysis computed the Pareto front on (None without variants)."""
    return rows[0].pareto.metric if rows else None


def pareto_points(results: Results) -> dict[str, list[dict[str, Any]]]:
    """Per task: each variant's trainable parameters, metric mean ± SD and front flag."""
    rows = variant_rows(results)
    metric = pareto_metric(rows)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if metric is None:
        return {}
    for r in rows:
        params, score = stat(r.trainable_params), test_stat(r, metric)
        if math.isfinite(params.mean) and params.mean > 0 and math.isfinite(score.mean):
            out[r.task].append(
                {
                    "method": r.method,
                    "params": params.mean,
                    "mean": score.mean,
                    "sd": score.sd,
                    "n": score.n,
                    "on_front": r.pareto.on_front,
                }
            )
    return dict(out)


def front_line(points: Any) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of the front's points in order of trainable parameters."""
    front = sorted((p for p in points if p["on_front"]), key=lambda p: (p["params"], -p["mean"]))
    return np.array([p["params"] for p in front]), np.array([p["mean"] for p in front])


def base_methods(results: Results) -> dict[str, str]:
    """Variant name -> registry method (lora, adalora, qlora, full), from runs and variants."""
    out = {r.method: r.base_method for r in results.runs}
    out.update({r.method: r.base_method for r in results.variants.rows})
    return out


def variants_of(results: Results, base: str) -> list[str]:
    """Variant names whose registry method is `base` (e.g. 'adalora'), in study order."""
    kinds = base_methods(results)
    return [m for m in methods(results) if m in kinds and kinds[m] == base]


def quantized_variants(results: Results) -> list[str]:
    """Variant names that train on a 4-bit base (the study's own resolution of each variant)."""
    variants = results.decisions.variants
    return [m for m in methods(results) if m in variants and variants[m].quantized_base]


def adalora_grids(results: Results) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (task, method): layer x module-type matrix of the kept rank, mean over seeds."""
    cells: dict[tuple[str, str], dict[tuple[int, str], list[Any]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for r in results.variants.adalora_ranks:
        if r.layer is not None and r.module_type:
            cells[(r.task, r.method)][(r.layer, r.module_type)].append(r.rank)
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
