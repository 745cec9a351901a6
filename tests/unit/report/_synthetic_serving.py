"""The serving section of the synthetic results, in the shape loralens.serving writes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

ENGINES = {"merged": 0.0, "unmerged": 0.22, "peft-mixed": 0.45, "fused": 0.12}
BATCHES = (1, 2, 4, 8, 16)
ADAPTERS = (1, 2, 4, 8)
ORDERS = ("round_robin", "random")
LATENCY_N = {"mad": 0.0, "n": 10}


def _latency(p50: float, rng: np.random.Generator) -> dict[str, float]:
    """A latency summary in the shape of loralens.serving.timing.summarize."""
    p50 = p50 * (1 + rng.normal(0, 0.01))
    return {
        "p50": p50,
        "p95": p50 * 1.12,
        "p99": p50 * 1.25,
        "median": p50,
        "mad": p50 * 0.02,
        "n": 10,
    }


def _serving_row(
    engine: str,
    workload: str,
    batch: int,
    k: int,
    order: str,
    sampling: bool | None,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """One timed row: overhead grows with K, random order costs 10% more."""
    extra = ENGINES[engine] * (1 + 0.15 * math.log2(k)) * (1.1 if order == "random" else 1)
    base = 40.0 * batch**0.6 if workload == "forward" else 600.0 * (1.05 if sampling else 1)
    lat = _latency(base * (1 + extra), rng)
    gen = workload == "generate"
    return {
        "engine": engine,
        "workload": workload,
        "batch_size": batch,
        "k_adapters": k,
        "order": order,
        "sampling": sampling,
        "latency_ms": lat,
        "ttft_ms": _latency(lat["p50"] * 0.1, rng) if gen else None,
        "tpot_ms": _latency(lat["p50"] * 0.06, rng) if gen else None,
        "tokens_per_s": batch * (16 if gen else 64) / (lat["median"] / 1000),
        "overhead_vs_merged": None,
        "analytic_extra_flops_ratio": 0.0034,
    }


def _serving_rows(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Rows like loralens.serving: forward per batch size, K mixed at 16, generate at 8."""
    settings = [("forward", b, 1, "single", None) for b in BATCHES]
    settings += [("forward", 16, k, o, None) for k in ADAPTERS[1:] for o in ORDERS]
    for sampling in (False, True):
        settings += [("generate", 8, 1, "single", sampling)]
        settings += [("generate", 8, k, o, sampling) for k in ADAPTERS[1:] for o in ORDERS]
    rows = [_serving_row(e, *st, rng) for st in settings for e in ENGINES]
    merged = {
        (r["workload"], r["batch_size"], r["sampling"]): r["latency_ms"]["median"]
        for r in rows
        if r["engine"] == "merged" and r["k_adapters"] == 1
    }
    for r in rows:  # as loralens.serving.measure.add_overheads
        ref = merged[(r["workload"], r["batch_size"], r["sampling"])]
        r["overhead_vs_merged"] = r["latency_ms"]["median"] / ref - 1
    return rows


SETTINGS = {
    "model": "smollm2-135m", "dtype": "float32", "device": "cpu", "threads": 2,
    "prompt_length": 64, "output_length": 16, "warmup": 2, "repeats": 10,
    "load_average_start": [1.2, 1.1, 0.9], "load_average_end": [1.4, 1.2, 1.0],
}  # fmt: skip


def _memory() -> dict[str, Any]:
    """The memory block of loralens.serving.measure.memory_summary."""
    per_adapter = {"merged": 540.0, "unmerged": 1.8, "peft-mixed": 1.9, "fused": 2.1}
    return {
        "base_mb": 545.0, "base_params_mb": 538.0, "per_adapter_mb": per_adapter,
        "engine_total_mb": {e: 545.0 + 4 * v for e, v in per_adapter.items()},
        "adapter_weights_mb": 1.76, "merged_copy_mb": 540.0,
        "merged_copies_mb": {str(n): n * 540.0 for n in (1, 2, 4, 8, 16)},
        "break_even_adapters": 2, "method": "process RSS after gc",
        "detail": "break_even = the fewest adapters at which N merged copies need more memory",
    }  # fmt: skip


def serving_group(rng: np.random.Generator, tasks: list[str]) -> dict[str, Any]:
    """A benchmark of the adapters of `tasks` as results.json holds it, with the repeats of
    peft-mixed at K = 2 and of merged timed in the same rounds (what the verdict tests)."""
    correctness = [
        {"engine": e, "workload": w, "adapter": "mixed", "max_abs_logit_diff": 3e-6,
         "greedy_equal": True, "passed": True, "error": None}
        for e in ENGINES for w in ("forward", "generate")
    ]  # fmt: skip
    adapters = [
        {"name": f"adapter-{i}", "path": f"/tmp/adapter-{i}", "synthetic": i > 1, "ranks": [8],
         "targets": ["q_proj", "v_proj"], "modules_to_save": ["score"]}
        for i in range(4)
    ]  # fmt: skip
    group = {"id": "serve/2-labels", "num_labels": 2, "tasks": tasks, "runs": []}
    result = {
        "group": group,
        "settings": SETTINGS,
        "correctness": correctness,
        "refused": {},
        "failed": {},
        "memory": _memory(),
        "adapters": adapters,
        "rows": _serving_rows(rng),
        "switching": {
            "set_adapter_ms": dict.fromkeys(("p50", "p95", "p99", "median"), 0.05) | LATENCY_N,
            "merge_unmerge_ms": dict.fromkeys(("p50", "p95", "p99", "median"), 12.0) | LATENCY_N,
            "note": "set_adapter: the unmerged engine's switch",
        },
        "cold_start_s": {"merged": 2.1, "unmerged": 1.4},
        "analytic": {"extra_flops_ratio": 0.0034, "detail": {"fused_padded_ratio": 0.0034}},
        "artifact": "artifacts/serve-ab12",
    }
    samples = {
        "merged": (40 * (1 + rng.normal(0, 0.02, 10))).tolist(),
        "peft-mixed": (58 * (1 + rng.normal(0, 0.02, 10))).tolist(),
    }
    for row in result["rows"]:  # the repeats the verdict tests, paired with merged's
        if (row["engine"], row["workload"], row["k_adapters"]) == ("peft-mixed", "forward", 2):
            row["samples_ms"], row["paired_baseline_ms"] = samples["peft-mixed"], samples["merged"]
    return result
