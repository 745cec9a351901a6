"""Tidy views of the sparsity section of the results: rank measures of each run's ΔW per
matrix, summarised per task and method, by module type and by layer. Nothing is recomputed."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from loralens.report.extract import Summary, summarize
from loralens.report.fmt import finite
from loralens.results.schema import Results


def sparsity_thresholds(results: Results) -> list[str]:
    """Intruder-dimension thresholds present in the sparsity rows, ascending."""
    keys = {k for r in results.sparsity.rows for k in r.intruders}
    return sorted(keys, key=float)


SPARSITY_FIELDS = (
    "effective_rank",
    "stable_rank",
    "energy_rank_90",
    "rank_utilisation",
    "lora_rank",
)


def sparsity_summary(results: Results) -> dict[tuple[str, str], dict[str, Summary]]:
    """Per (task, method): mean ± SD over modules and seeds of each rank measure."""
    cells: dict[tuple[str, str], dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for r in results.sparsity.rows:
        cell = cells[(r.task, r.method)]
        for f in SPARSITY_FIELDS:
            cell[f].append(getattr(r, f))
        for k, v in r.intruders.items():
            cell[f"intruders_{k}"].append(v)
    return {key: {f: summarize(v) for f, v in cell.items()} for key, cell in cells.items()}


def module_type(module: str) -> str:
    """The kind of an adapted matrix: 'model.layers.3.self_attn.q_proj' -> 'q_proj'."""
    return module.rsplit(".", 1)[-1]


def intruders_by_type(results: Results, eps: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Per (task, method, module type): intruders at `eps` over matrices and seeds, and chance.

    Module types differ in shape, so in the chance level of a random direction: their counts
    are never averaged together.
    """
    cells: dict[tuple[str, str, str], dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for r in results.sparsity.rows:
        if eps in r.intruders:
            cell = cells[(r.task, r.method, module_type(r.module))]
            cell["count"].append(r.intruders[eps])
            if r.intruders_chance is not None and eps in r.intruders_chance:
                cell["chance"].append(r.intruders_chance[eps])
    return {
        key: {"count": summarize(c["count"]), "chance": summarize(c["chance"])}
        for key, c in cells.items()
    }


def sparsity_by_layer(results: Results) -> dict[tuple[str, str], dict[str, list]]:
    """Per (task, method): layers and the mean effective rank over modules and seeds."""
    cells: dict[tuple[str, str], dict[int, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for r in results.sparsity.rows:
        if r.layer is not None and finite(r.effective_rank):
            cells[(r.task, r.method)][r.layer].append(r.effective_rank)
    return {
        key: {"layer": sorted(by), "mean": [summarize(by[la]).mean for la in sorted(by)]}
        for key, by in cells.items()
    }
