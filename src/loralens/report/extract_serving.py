"""Tidy views of the serving and sparsity sections of results.json.

The serving section is the serving benchmark's result (`loralens.serving`): `settings`, `rows`
(one per engine x workload x batch size x K adapters x order x sampling, with `latency_ms`
percentiles and `overhead_vs_merged`), `memory` (base, per-adapter increments, merged copies and
the break-even), `correctness`, `switching`, `refused`. Older or hand-written files may name the
adapter count `num_adapters` and the overhead `overhead`; both are read. Nothing is recomputed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from loralens.report.extract import Summary, records, summarize
from loralens.report.fmt import finite, num

MERGED = "merged"
PERCENTILES = ("p50", "p95", "p99")
ORDER_RANK = {"single": 0, "round_robin": 1, "random": 2}


def groups(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The serving benchmarks, one per group of adapters served on one base (schema 1: one)."""
    value = results.get("serving")
    if isinstance(value, Mapping):
        return [dict(value)] if value else []
    if isinstance(value, list):
        return [dict(g) for g in value if isinstance(g, Mapping)]
    return []


def group_label(group: Mapping[str, Any]) -> str:
    """Which adapters a benchmark served together: 'adapters of mrpc, rte (2 labels)'."""
    info = group.get("group") if isinstance(group.get("group"), Mapping) else {}
    tasks = ", ".join(str(t) for t in info.get("tasks") or [])
    labels = info.get("num_labels")
    if not tasks:
        return "the study's adapters"
    return f"adapters of {tasks}" + (f" ({labels} labels)" if labels is not None else "")


def views(results: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, results whose serving section is that one benchmark) per serving group."""
    return [(group_label(g), {**results, "serving": g}) for g in groups(results)]


def serving(results: Mapping[str, Any]) -> dict[str, Any]:
    """The serving benchmark of a single-group study or view (empty dict otherwise)."""
    found = groups(results)
    return found[0] if len(found) == 1 else {}


def _stat(value: Any, key: str) -> float:
    """A percentile from a latency dict (p50 falls back to the median), or a bare number."""
    if isinstance(value, Mapping):
        got = value.get(key)
        return num(value.get("median") if got is None and key == "p50" else got)
    return num(value) if key == "p50" else num(None)


def _normalize(row: Mapping[str, Any]) -> dict[str, Any]:
    """One serving row in the report's shape."""
    k = row.get("k_adapters", row.get("num_adapters"))
    lat = row.get("latency_ms")
    out: dict[str, Any] = {
        "engine": str(row.get("engine") or "?"),
        "workload": str(row.get("workload") or "forward"),
        "batch_size": num(row.get("batch_size")),
        "k": num(k) if finite(k) else 1.0,
        "order": str(row.get("order") or "single"),
        "sampling": row.get("sampling"),
        "mad": _stat(lat, "mad"),
        "ttft": _stat(row.get("ttft_ms"), "p50"),
        "tpot": _stat(row.get("tpot_ms"), "p50"),
        "tokens_per_s": num(row.get("tokens_per_s")),
        "overhead": num(row.get("overhead_vs_merged", row.get("overhead"))),
    }
    out.update({p: _stat(lat, p) for p in PERCENTILES})
    return out


def serving_rows(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every timed serving row, normalized."""
    return [_normalize(r) for r in records(serving(results), "rows")]


def engines(rows: list[dict[str, Any]]) -> list[str]:
    """Engine names in first-seen order, merged first."""
    names = list(dict.fromkeys(r["engine"] for r in rows))
    return sorted(names, key=lambda e: e != MERGED)


def workloads(rows: list[dict[str, Any]]) -> list[str]:
    """Workloads present, forward first."""
    return sorted({r["workload"] for r in rows}, key=lambda w: (w != "forward", w))


def single_rows(rows: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """(workload, rows) of one adapter per batch across batch sizes (forward when measured)."""
    for workload in workloads(rows):
        picked = [r for r in rows if r["workload"] == workload and r["k"] == 1]
        if len({r["batch_size"] for r in picked}) > 1:
            return workload, picked
    return None, []


def mixed_slice(rows: list[dict[str, Any]], workload: str) -> tuple[float | None, list[dict]]:
    """(batch size, rows) of a workload's K-adapter comparison, greedy decoding when sampled."""
    multi = [r for r in rows if r["workload"] == workload and r["k"] > 1]
    if not multi:
        return None, []
    batch = max(r["batch_size"] for r in multi)
    picked = [r for r in rows if r["workload"] == workload and r["batch_size"] == batch]
    if any(r["sampling"] is False for r in picked):
        picked = [r for r in picked if r["sampling"] is not True]
    return batch, picked


def orders(rows: list[dict[str, Any]]) -> list[str]:
    """Orders of mixed batches present (single excluded), round-robin first."""
    found = {r["order"] for r in rows if r["order"] != "single"}
    return sorted(found, key=lambda o: (ORDER_RANK.get(o, 9), o))


def memory(results: Mapping[str, Any]) -> dict[str, Any]:
    """The memory block of the serving result (empty dict when absent)."""
    value = serving(results).get("memory")
    return dict(value) if isinstance(value, Mapping) else {}


def sparsity_thresholds(results: Mapping[str, Any]) -> list[str]:
    """Intruder-dimension thresholds present in the sparsity rows, ascending."""
    keys = {k for r in records(results, "sparsity", "rows") for k in (r.get("intruders") or {})}
    return sorted(keys, key=num)


def sparsity_summary(results: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Summary]]:
    """Per (task, method): mean ± SD over modules and seeds of each rank measure."""
    fields = ("effective_rank", "stable_rank", "energy_rank_90", "rank_utilisation", "lora_rank")
    cells: dict[tuple[str, str], dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for r in records(results, "sparsity", "rows"):
        cell = cells[(str(r.get("task")), str(r.get("method")))]
        for f in fields:
            cell[f].append(r.get(f))
        for k, v in (r.get("intruders") or {}).items():
            cell[f"intruders_{k}"].append(v)
    return {key: {f: summarize(v) for f, v in cell.items()} for key, cell in cells.items()}


def sparsity_by_layer(results: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, list]]:
    """Per (task, method): layers and the mean effective rank over modules and seeds."""
    cells: dict[tuple[str, str], dict[int, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for r in records(results, "sparsity", "rows"):
        if finite(r.get("layer")) and finite(r.get("effective_rank")):
            cells[(str(r.get("task")), str(r.get("method")))][int(num(r["layer"]))].append(
                r["effective_rank"]
            )
    return {
        key: {"layer": sorted(by), "mean": [summarize(by[la]).mean for la in sorted(by)]}
        for key, by in cells.items()
    }
