"""Turn raw timings into result rows; switching cost; the memory summary and break-even."""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np
import torch

from loralens.serving.interface import Generation
from loralens.serving.pairing import DESIGN, spread
from loralens.serving.timing import summarize, time_ms
from loralens.serving.workloads import Setting
from loralens.stats.signed_rank import ratio_summary


def result_row(
    engine: str, setting: Setting, samples: list[tuple[float, Any]], tokens_in: int, n_new: int
) -> dict[str, Any]:
    """One `rows` entry: latency percentiles, TTFT/TPOT (generation) and tokens per second."""
    wall = statistics.median(dt for dt, _ in samples)
    row: dict[str, Any] = {
        "engine": engine,
        "workload": setting.workload,
        "batch_size": setting.batch_size,
        "k_adapters": setting.k_adapters,
        "order": setting.order,
        "sampling": setting.sampling,
    }
    if setting.workload == "forward":  # latency of the batch call; tokens = prompt tokens
        row["samples_ms"] = [dt * 1e3 for dt, _ in samples]  # raw repeats, for the statistics
        row["latency_ms"] = summarize(row["samples_ms"])
        row["ttft_ms"] = row["tpot_ms"] = None
        row["tokens_per_s"] = tokens_in / wall
        return row
    gens: list[Generation] = [g for _, g in samples]
    e2e = [t * 1e3 for g in gens for t in g.e2e_s]  # per request (row), over repeats
    ttft = [t * 1e3 for g in gens for t in g.ttft_s]
    row["latency_ms"] = summarize(e2e)
    row["ttft_ms"] = summarize(ttft)
    tpot = [(b - a) / (n_new - 1) for a, b in zip(ttft, e2e, strict=True)] if n_new > 1 else []
    row["tpot_ms"] = summarize(tpot) if tpot else None
    row["tokens_per_s"] = setting.batch_size * n_new / wall  # generated tokens
    return row


PAIRED_DEFINITION = (
    "paired ratio - 1: Hodges-Lehmann median of per-pair ratios, each call timed between two "
    "calls of merged weights serving one adapter's batch of the same size (A-B-A)"
)
MEDIANS_DEFINITION = "ratio of medians against merged's K = 1 row (not paired)"


def add_pairs(
    row: dict[str, Any], flanks_s: list[float], baseline: list[tuple[float, Any]]
) -> None:
    """A paired row's baseline per pair (ms) and its paired ratio (Hodges–Lehmann, 95%)."""
    row["paired_baseline_ms"] = [dt * 1e3 for dt in flanks_s]
    if len(flanks_s) < 2:
        return
    ratio = ratio_summary(row["samples_ms"], row["paired_baseline_ms"])
    ratio["baseline_median_ms"] = float(np.median(row["paired_baseline_ms"]))
    ratio["baseline_calls_median_ms"] = statistics.median(dt * 1e3 for dt, _ in baseline)
    ratio["design"] = DESIGN
    row["paired_ratio"] = ratio


def add_overheads(rows: list[dict[str, Any]]) -> None:
    """overhead_vs_merged: latency over `merged` serving one adapter's batch of that size, - 1.

    Paired rows (forward, A-B-A against merged) carry `paired_ratio`: the overhead is its
    Hodges–Lehmann ratio - 1, the estimate the verdict tests. Other rows (generation, vLLM's
    load, whose row names a `baseline_engine`) use the ratio of medians against the baseline's
    K = 1 row. `overhead_definition` says which.
    """
    merged = {
        (r["engine"], r["workload"], r["batch_size"], r["sampling"], r.get("arrival")): r[
            "latency_ms"
        ]["median"]
        for r in rows
        if r["k_adapters"] == 1 and r["latency_ms"]
    }
    for r in rows:
        if r.get("paired_ratio"):
            r["overhead_vs_merged"] = r["paired_ratio"]["hodges_lehmann"] - 1.0
            r["overhead_definition"] = PAIRED_DEFINITION
            continue
        key = (r["workload"], r["batch_size"], r["sampling"], r.get("arrival"))
        ref = merged.get((r.get("baseline_engine", "merged"), *key))
        lat = r["latency_ms"]
        r["overhead_vs_merged"] = lat["median"] / ref - 1 if ref and lat else None
        if r["overhead_vs_merged"] is not None:
            r["overhead_definition"] = MEDIANS_DEFINITION


def noise_floor(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per forward batch size, the paired baseline's median in each setting and their spread.

    The baseline (merged weights serving one adapter's batch) is the same call in every setting
    of a batch size: how much its median moves between settings is the machine's drift, the
    floor below which an unpaired comparison of settings means nothing.
    """
    by_batch: dict[int, dict[str, float]] = {}
    for r in rows:
        if r.get("paired_ratio") and r["workload"] == "forward":
            label = f"K = {r['k_adapters']}, {r['order']}"
            medians = by_batch.setdefault(r["batch_size"], {})
            medians[label] = r["paired_ratio"]["baseline_calls_median_ms"]
    out = []
    for batch, medians in sorted(by_batch.items()):
        if len(medians) < 2:  # one setting: no spread across settings to show
            continue
        values = list(medians.values())
        out.append(
            {
                "workload": "forward",
                "batch_size": batch,
                "baseline_median_ms": medians,
                "relative_spread": spread([v / 1e3 for v in values]),
                "detail": "(max - min) / median of the paired baseline's median across settings",
            }
        )
    return out


def switching_cost(peft: Any, names: list[str], repeats: int, device: torch.device) -> dict:
    """`set_adapter` time between adapters, and an in-place merge + unmerge of one adapter."""
    cycle = names if len(names) > 1 else names * 2
    state = {"i": 0}

    def switch() -> None:
        state["i"] += 1
        peft.set_adapter(cycle[state["i"] % len(cycle)], inference_mode=True)

    set_ms = time_ms(switch, repeats * len(cycle), device)
    peft.set_adapter(names[0], inference_mode=True)

    def merge_unmerge() -> None:
        peft.base_model.merge_adapter([names[0]])
        peft.base_model.unmerge_adapter()

    with torch.inference_mode():
        merge_ms = time_ms(merge_unmerge, max(1, min(repeats, 3)), device)
    return {
        "set_adapter_ms": summarize(set_ms),
        "merge_unmerge_ms": summarize(merge_ms),
        "note": "set_adapter: the unmerged engine's switch; merge+unmerge: switching one merged "
        "copy in place instead of holding a copy per adapter",
    }


def memory_summary(
    base_mb: float | None,
    increments: dict[str, float],
    n_adapters: int,
    base_params_mb: float,
    adapter_mb: float,
    method: str,
) -> dict[str, Any]:
    """Base, per-adapter increment per engine, a merged copy, and the merging break-even point."""
    base = base_mb if base_mb is not None else base_params_mb
    per_adapter = {e: (inc - base) / n_adapters for e, inc in increments.items()}
    copy_mb = per_adapter.get("merged", base_params_mb)
    unmerged = max(per_adapter.get("unmerged", adapter_mb), 0.0)
    # N merged copies take N·copy; unmerged serving takes base + N·adapter
    break_even = int(base // (copy_mb - unmerged)) + 1 if copy_mb > unmerged else None
    return {
        "base_mb": base,
        "base_params_mb": base_params_mb,
        "per_adapter_mb": per_adapter,
        "engine_total_mb": increments,
        "adapter_weights_mb": adapter_mb,
        "merged_copy_mb": copy_mb,
        "merged_copies_mb": {str(n): n * copy_mb for n in (1, 2, 4, 8, 16)},
        "break_even_adapters": break_even,
        "method": method,
        "detail": "per_adapter = (engine increment - base) / adapters loaded; break_even = the "
        "fewest adapters at which N merged copies need more memory than one base plus N "
        "unmerged adapters",
    }
