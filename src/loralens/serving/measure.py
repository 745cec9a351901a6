"""Turn raw timings into result rows; switching cost; the memory summary and break-even."""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np
import torch

from loralens.serving.interface import Generation
from loralens.serving.timing import summarize, time_ms
from loralens.serving.workloads import Setting


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


def add_overheads(rows: list[dict[str, Any]]) -> None:
    """overhead_vs_merged: latency over `merged` serving one adapter's batch of that size, - 1.

    Forward rows carry `paired_baseline_ms`, the baseline timed in the same rounds: the
    overhead is then the geometric mean over rounds of the per-round ratio (the one definition
    the verdict tests). Other rows (generation, vLLM's load, whose row names a
    `baseline_engine`) use the ratio of medians against the baseline's K = 1 row.
    """
    merged = {
        (r["engine"], r["workload"], r["batch_size"], r["sampling"], r.get("arrival")): r[
            "latency_ms"
        ]["median"]
        for r in rows
        if r["k_adapters"] == 1 and r["latency_ms"]
    }
    for r in rows:
        if r.get("paired_baseline_ms") and r.get("samples_ms"):
            logs = np.log(r["samples_ms"]) - np.log(r["paired_baseline_ms"])  # (rounds,)
            r["overhead_vs_merged"] = float(np.exp(logs.mean()) - 1)
            r["overhead_definition"] = "geometric mean of per-round ratios, same rounds"
            continue
        key = (r["workload"], r["batch_size"], r["sampling"], r.get("arrival"))
        ref = merged.get((r.get("baseline_engine", "merged"), *key))
        lat = r["latency_ms"]
        r["overhead_vs_merged"] = lat["median"] / ref - 1 if ref and lat else None
        if r["overhead_vs_merged"] is not None:
            r["overhead_definition"] = "ratio of medians against the K = 1 row"


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
