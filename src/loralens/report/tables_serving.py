"""Serving tables: one-adapter latency by batch size, K mixed adapters, memory, correctness."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loralens.report import extract as ex
from loralens.report import extract_serving as sv
from loralens.report import fmt
from loralens.report.document import Table

DASH = "—"


def group_views(results: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(label, view) per serving group when there are several; else [("", results)]."""
    views = sv.views(results)
    return list(views) if len(views) > 1 else [("", results)]


def latency_table(results: Mapping[str, Any]) -> Table | None:
    """Latency percentiles, throughput and overhead per engine and batch size (one adapter)."""
    rows = sv.serving_rows(results)
    workload, single = sv.single_rows(rows)
    if workload is None:
        return None
    names = sv.engines(rows)
    single.sort(key=lambda r: (names.index(r["engine"]), r["batch_size"]))
    out = tuple(
        (
            r["engine"],
            fmt.number(r["batch_size"]),
            *(fmt.number(r[p]) for p in sv.PERCENTILES),
            fmt.number(r["mad"], 2),
            fmt.number(r["tokens_per_s"]),
            DASH if r["engine"] == sv.MERGED else fmt.pct(r["overhead"], sign=True),
        )
        for r in single
    )
    columns = (
        "Engine",
        "Batch",
        "p50 (ms)",
        "p95 (ms)",
        "p99 (ms)",
        "MAD (ms)",
        "Tokens/s",
        "vs merged",
    )
    note = (
        f"{workload.capitalize()} workload, every request in the batch on the same adapter. "
        "vs merged: p50 latency over merged weights at the same batch size."
    )
    return Table("serving", "Latency by batch size (one adapter)", columns, out, "", note)


def _cell(r: dict[str, Any]) -> str:
    """'45.1 ms (+12.3%)'."""
    ms = f"{fmt.number(r['p50'])} ms"
    if r["engine"] == sv.MERGED and r["k"] == 1:
        return ms
    return f"{ms} ({fmt.pct(r['overhead'], sign=True)})"


def mixed_table(results: Mapping[str, Any]) -> Table | None:
    """p50 latency and overhead by K adapters per batch, per workload, order and engine."""
    rows, out = sv.serving_rows(results), []
    ks = sorted({r["k"] for r in rows if r["k"] > 1} | {1.0})
    for workload in sv.workloads(rows):
        batch, mine = sv.mixed_slice(rows, workload)
        if batch is None:
            continue
        for order in sv.orders(mine):
            for e in sv.engines(mine):
                cells = {
                    r["k"]: _cell(r)
                    for r in mine
                    if r["engine"] == e and (r["order"] == order or r["k"] == 1)
                }
                out.append(
                    (
                        workload,
                        fmt.number(batch),
                        order.replace("_", "-"),
                        e,
                        *(cells.get(k, DASH) for k in ks),
                    )
                )
    if not out:
        return None
    columns = ("Workload", "Batch", "Order", "Engine", *(f"K = {k:g}" for k in ks))
    note = (
        "p50 latency (overhead against merged weights serving one adapter's batch of the "
        "same size). K = 1: every request on one adapter. Generation: greedy decoding."
    )
    return Table(
        "serving_mixed",
        "Adapters mixed in one batch",
        columns,
        tuple(out),
        "lrll" + "r" * len(ks),
        note,
    )


def memory_table(results: Mapping[str, Any]) -> Table | None:
    """The memory block: base, per-adapter cost per engine, merged copy, break-even."""
    mem = sv.memory(results)
    if not mem:
        return None
    rows = [("Base model", f"{fmt.number(mem.get('base_mb'))} MiB")]
    rows += [
        (f"Per adapter, {e}", f"{fmt.number(v)} MiB")
        for e, v in (mem.get("per_adapter_mb") or {}).items()
    ]
    rows += [
        ("Adapter tensors", f"{fmt.number(mem.get('adapter_weights_mb'))} MiB"),
        ("One merged copy", f"{fmt.number(mem.get('merged_copy_mb'))} MiB"),
        (
            "Merging stops paying at",
            fmt.plural(int(fmt.num(mem["break_even_adapters"])), "adapter")
            if fmt.finite(mem.get("break_even_adapters"))
            else "never (in the measured range)",
        ),
        ("Measured with", str(mem.get("method") or fmt.NA)),
    ]
    return Table(
        "serving_memory",
        "Memory",
        ("Item", "Value"),
        tuple(rows),
        "ll",
        str(mem.get("detail") or ""),
        pairs=True,
    )


def correctness_table(results: Mapping[str, Any]) -> Table | None:
    """The correctness gate against PEFT, per engine and workload."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for e in ex.records(sv.serving(results), "correctness"):
        groups.setdefault((str(e.get("engine")), str(e.get("workload"))), []).append(e)
    if not groups:
        return None
    rows = []
    for (engine, workload), entries in groups.items():
        diffs = [fmt.num(e.get("max_abs_logit_diff")) for e in entries]
        diffs = [d for d in diffs if fmt.finite(d)]
        greedy = [bool(e["greedy_equal"]) for e in entries if e.get("greedy_equal") is not None]
        ok = all(e.get("passed") for e in entries)
        rows.append(
            (
                engine,
                workload,
                str(len(entries)),
                f"{max(diffs):.1e}" if diffs else DASH,
                ("yes" if all(greedy) else "NO") if greedy else DASH,
                "pass" if ok else "FAILED (not timed)",
            )
        )
    columns = ("Engine", "Workload", "Cases", "Max |Δlogit|", "Greedy equal", "Gate")
    note = "Each engine's outputs against PEFT with one adapter active, before any timing."
    return Table("serving_correctness", "Correctness gate", columns, tuple(rows), "llrrll", note)


def settings_text(results: Mapping[str, Any]) -> str:
    """One paragraph on how serving was measured (model, device, lengths, repeats, load)."""
    s = sv.serving(results).get("settings")
    if not isinstance(s, Mapping):
        return ""
    adapters = ex.records(sv.serving(results), "adapters")
    synthetic = sum(bool(a.get("synthetic")) for a in adapters)
    parts = [
        f"{s.get('model', 'model not recorded')} on {s.get('device', '?')} "
        f"({s.get('dtype', '?')}, {s.get('threads', '?')} threads)",
        f"prompt {s.get('prompt_length', '?')} tokens, {s.get('output_length', '?')} new tokens",
        f"warm-up {s.get('warmup', '?')}, {s.get('repeats', '?')} repeats, engines interleaved",
    ]
    if adapters:
        parts.append(
            f"{fmt.plural(len(adapters), 'adapter')} ({synthetic} synthetic: random "
            "weights, untrained)"
            if synthetic
            else fmt.plural(len(adapters), "adapter")
        )
    load = [s.get("load_average_start"), s.get("load_average_end")]
    if any(load):
        parts.append(
            "load average at start / end "
            + " / ".join(
                ", ".join(map(str, x)) if isinstance(x, list) else str(x or "?") for x in load
            )
            + " (other work on the machine makes timings noisy)"
        )
    return "; ".join(parts) + "."


def extra_items(results: Mapping[str, Any]) -> tuple[str, ...]:
    """Switching cost, cold starts and the analytic FLOPs of LoRA, as short sentences."""
    result, out = sv.serving(results), []
    sw = result.get("switching")
    if isinstance(sw, Mapping) and sw:
        set_ms = (sw.get("set_adapter_ms") or {}).get("median")
        merge_ms = (sw.get("merge_unmerge_ms") or {}).get("median")
        out.append(
            f"Switching adapters: set_adapter {fmt.number(set_ms)} ms (unmerged); an "
            f"in-place merge + unmerge {fmt.number(merge_ms)} ms (merged)."
        )
    for key, label in (("cold_start_s", "forward"), ("cold_start_generate_s", "generate")):
        cold = result.get(key)
        if isinstance(cold, Mapping) and cold:
            times = ", ".join(f"{k} {fmt.number(v)} s" for k, v in cold.items())
            out.append(f"Cold start ({label}; load base and adapters): {times}.")
    analytic = result.get("analytic")
    if isinstance(analytic, Mapping) and fmt.finite(analytic.get("extra_flops_ratio")):
        out.append(
            f"LoRA adds {fmt.pct(analytic['extra_flops_ratio'], 3)} of the base model's "
            "linear-layer FLOPs (analytic)."
        )
    return tuple(out)


def refused(results: Mapping[str, Any]) -> dict[str, str]:
    """Engines the benchmark refused to time, with the reason."""
    value = sv.serving(results).get("refused")
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}
