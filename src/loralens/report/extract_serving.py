"""Tidy views of the serving section of the results.

The serving section holds one benchmark (`loralens.serving`) per group of adapters served on one
base: `settings`, `rows` (one per engine x workload x batch size x K adapters x order x sampling,
with `latency_ms` percentiles and `overhead_vs_merged`), `memory` (base, per-adapter increments,
merged copies and the break-even), `correctness`, `switching`, `refused`. Nothing is recomputed.
"""

from __future__ import annotations

from typing import Any

from loralens.report.fmt import num
from loralens.results.schema import Results
from loralens.results.schema_serving import Latency, ServingGroup, ServingMemory, ServingRow
from loralens.results.schema_stats import ServingSlice

MERGED = "merged"
PERCENTILES = ("p50", "p95", "p99")
ORDERS = ("single", "round_robin", "random")


def group_label(group: ServingGroup) -> str:
    """Which adapters a benchmark served together: 'adapters of mrpc, rte (2 labels)'."""
    info = group.group
    if not info.tasks:
        return "the study's adapters"
    return f"adapters of {', '.join(info.tasks)} ({info.num_labels} labels)"


def views(results: Results) -> list[tuple[str, Results]]:
    """(label, results whose serving section is that one benchmark) per serving group."""
    return [(group_label(g), results.model_copy(update={"serving": [g]})) for g in results.serving]


def serving(results: Results) -> ServingGroup | None:
    """The serving benchmark of a single-group study or view (None otherwise)."""
    return results.serving[0] if len(results.serving) == 1 else None


def tested_slice(results: Results) -> ServingSlice | None:
    """The setting part C tested for a single-group study or view (None: no verdict on it)."""
    group = serving(results)
    if group is None:
        return None
    verdict = next((v for v in results.serving_verdicts if v.group == group.group.id), None)
    return verdict.slice if verdict is not None else None


def _p50(value: Latency | None) -> float:
    """The p50 of a latency summary, NaN when there is none."""
    return num(value.p50) if value is not None else num(None)


def _normalize(row: ServingRow) -> dict[str, Any]:
    """One serving row in the report's shape."""
    lat = row.latency_ms
    out: dict[str, Any] = {
        "engine": row.engine,
        "workload": row.workload,
        "batch_size": num(row.batch_size),
        "k": float(row.k_adapters),
        "order": row.order,
        "sampling": row.sampling,
        "mad": num(lat.mad) if lat is not None else num(None),
        "ttft": _p50(row.ttft_ms),
        "tpot": _p50(row.tpot_ms),
        "tokens_per_s": num(row.tokens_per_s),
        "overhead": num(row.overhead_vs_merged),
    }
    out.update({p: num(getattr(lat, p)) if lat is not None else num(None) for p in PERCENTILES})
    out.update(_paired(row))
    return out


def _paired(row: ServingRow) -> dict[str, Any]:
    """A row's paired ratio against its own A-B-A baseline (NaN and paired=False without)."""
    pr = row.paired_ratio
    return {
        "paired": pr is not None,
        "ratio": num(pr.hodges_lehmann) if pr else num(None),
        "ratio_low": num(pr.ci_low) if pr else num(None),
        "ratio_high": num(pr.ci_high) if pr else num(None),
        "ratio_level": num(pr.confidence_level) if pr else num(None),
        "ratio_gm": num(pr.geometric_mean) if pr else num(None),
        "baseline_median": num(pr.baseline_median_ms) if pr else num(None),
        "pairs": num(pr.pairs) if pr else num(None),
        "warmup_calls": num(row.warmup.calls) if row.warmup else num(None),
    }


def serving_rows(results: Results) -> list[dict[str, Any]]:
    """Every timed serving row, normalized."""
    group = serving(results)
    return [_normalize(r) for r in group.rows] if group is not None else []


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
    return sorted(found, key=lambda o: (ORDERS.index(o) if o in ORDERS else len(ORDERS), o))


def memory(results: Results) -> ServingMemory | None:
    """The memory block of the serving result (None when not measured)."""
    group = serving(results)
    return group.memory if group is not None else None
