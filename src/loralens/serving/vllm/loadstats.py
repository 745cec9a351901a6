"""Pure summaries of a vLLM load run: result rows in the serving schema, overheads, agreement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loralens.serving.timing import summarize
from loralens.serving.vllm.client import RequestResult

MERGED_ENGINE = "vllm-merged"  # rows of the server holding one adapter merged into the base
LORA_ENGINE = "vllm"  # rows of the server holding the base plus K unmerged adapters


def _ms(values: Sequence[float]) -> dict[str, float] | None:
    """summarize() of seconds as ms, or None when there are none."""
    return summarize([v * 1e3 for v in values]) if values else None


def load_row(
    engine: str,
    results: Sequence[RequestResult],
    wall_s: float,
    *,
    k_adapters: int,
    arrival: str,
    concurrency: int | None,
    rate_per_s: float | None,
) -> dict[str, Any]:
    """One `rows` entry for a load run: e2e/TTFT/ITL percentiles, tokens/s, requests/s."""
    ok = [r for r in results if r.error is None and r.e2e_s is not None]
    tokens = sum(max(r.n_tokens, len(r.chunk_times_s)) for r in ok)
    tpot = [
        (r.e2e_s - r.ttft_s) / (len(r.chunk_times_s) - 1)
        for r in ok
        if r.ttft_s is not None and r.e2e_s is not None and len(r.chunk_times_s) > 1
    ]
    errors = [r.error for r in results if r.error is not None]
    return {
        "engine": engine,
        "workload": "generate",
        "batch_size": concurrency,  # closed loop: requests in flight; None for open loop
        "k_adapters": k_adapters,
        "order": "single" if k_adapters == 1 else "round_robin",
        "sampling": False,
        "arrival": arrival,
        "rate_per_s": rate_per_s,
        "latency_ms": _ms([r.e2e_s for r in ok if r.e2e_s is not None]),
        "ttft_ms": _ms([r.ttft_s for r in ok if r.ttft_s is not None]),
        "tpot_ms": _ms(tpot),
        "itl_ms": _ms([gap for r in ok for gap in r.itl_s]),
        "tokens_per_s": tokens / wall_s if wall_s > 0 else 0.0,
        "requests_per_s": len(ok) / wall_s if wall_s > 0 else 0.0,
        "requests": len(results),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "wall_s": wall_s,
        "baseline_engine": MERGED_ENGINE,
    }


def lora_overheads(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """vLLM's LoRA over merged at each concurrency and K: latency and throughput ratios."""
    merged = {
        r["batch_size"]: r
        for r in rows
        if r["engine"] == MERGED_ENGINE and r["arrival"] == "closed" and r["latency_ms"]
    }
    out = []
    for r in rows:
        ref = merged.get(r["batch_size"])
        if r["engine"] != LORA_ENGINE or r["arrival"] != "closed" or not ref or not r["latency_ms"]:
            continue
        out.append(
            {
                "concurrency": r["batch_size"],
                "k_adapters": r["k_adapters"],
                "merged_tokens_per_s": ref["tokens_per_s"],
                "lora_tokens_per_s": r["tokens_per_s"],
                "latency_overhead": r["latency_ms"]["median"] / ref["latency_ms"]["median"] - 1,
                "throughput_ratio": r["tokens_per_s"] / ref["tokens_per_s"],
            }
        )
    return out
