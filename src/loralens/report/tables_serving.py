"""Serving tables: one-adapter latency by batch size, K mixed adapters, memory, correctness."""

from __future__ import annotations

from typing import Any

from loralens.report import extract_serving as sv
from loralens.report import fmt
from loralens.report.document import Table
from loralens.results.schema import Results
from loralens.results.schema_serving import CorrectnessCase

DASH = "—"


def group_views(results: Results) -> list[tuple[str, Results]]:
    """(label, view) per serving group when there are several; else [("", results)]."""
    views = sv.views(results)
    return list(views) if len(views) > 1 else [("", results)]


def latency_table(results: Results) -> Table | None:
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


def mixed_table(results: Results) -> Table | None:
    """p50 latency and overhead by K adapters per batch, per workload, order and engine."""
    rows, out = sv.serving_rows(results), []
    ks = sorted({r["k"] for r in rows if r["k"] > 1} | {1.0})
    for workload in sv.workloads(rows):
        batch, mine = sv.mixed_slice(rows, workload)
        if batch is None:
            continue
        for order in sv.orders(mine):
            for e in sv.engines(mine):
                cells = dict.fromkeys(ks, DASH) | {
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
                        *(cells[k] for k in ks),
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


def memory_table(results: Results) -> Table | None:
    """The memory block: base, per-adapter cost per engine, merged copy, break-even."""
    mem = sv.memory(results)
    if mem is None:
        return None
    rows = [("Base model", f"{fmt.number(mem.base_mb)} MiB")]
    rows += [(f"Per adapter, {e}", f"{fmt.number(v)} MiB") for e, v in mem.per_adapter_mb.items()]
    rows += [
        ("Adapter tensors", f"{fmt.number(mem.adapter_weights_mb)} MiB"),
        ("One merged copy", f"{fmt.number(mem.merged_copy_mb)} MiB"),
        (
            "Merging stops paying at",
            fmt.plural(mem.break_even_adapters, "adapter")
            if mem.break_even_adapters is not None
            else "never (in the measured range)",
        ),
        ("Measured with", mem.method or fmt.NA),
    ]
    return Table(
        "serving_memory", "Memory", ("Item", "Value"), tuple(rows), "ll", mem.detail, pairs=True
    )


def correctness_table(results: Results) -> Table | None:
    """The correctness gate against PEFT, per engine and workload."""
    group = sv.serving(results)
    groups: dict[tuple[str, str], list[CorrectnessCase]] = {}
    for e in group.correctness if group is not None else []:
        groups.setdefault((e.engine, e.workload), []).append(e)
    if not groups:
        return None
    rows = []
    for (engine, workload), entries in groups.items():
        diffs = [fmt.num(e.max_abs_logit_diff) for e in entries]
        diffs = [d for d in diffs if fmt.finite(d)]
        greedy = [e.greedy_equal for e in entries if e.greedy_equal is not None]
        ok = all(e.passed for e in entries)
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


def _load(values: list[float] | None) -> str:
    """A load average as text ('?' when not measured)."""
    return ", ".join(map(str, values)) if values else "?"


def settings_text(results: Results) -> str:
    """One paragraph on how serving was measured (model, device, lengths, repeats, load)."""
    group = sv.serving(results)
    if group is None:
        return ""
    s, adapters = group.settings, group.adapters
    synthetic = sum(a.synthetic for a in adapters)
    parts = [
        f"{s.model} on {s.device} ({s.dtype}, {s.threads} threads)",
        f"prompt {s.prompt_length} tokens, {s.output_length} new tokens",
        f"warm-up {s.warmup}, {s.repeats} repeats, engines interleaved",
    ]
    if adapters:
        parts.append(
            f"{fmt.plural(len(adapters), 'adapter')} ({synthetic} synthetic: random "
            "weights, untrained)"
            if synthetic
            else fmt.plural(len(adapters), "adapter")
        )
    if s.load_average_start or s.load_average_end:
        parts.append(
            f"load average at start / end {_load(s.load_average_start)} / "
            f"{_load(s.load_average_end)} (other work on the machine makes timings noisy)"
        )
    return "; ".join(parts) + "."


def extra_items(results: Results) -> tuple[str, ...]:
    """Switching cost, cold starts and the analytic FLOPs of LoRA, as short sentences."""
    group, out = sv.serving(results), []
    if group is None:
        return ()
    if (sw := group.switching) is not None:
        out.append(
            f"Switching adapters: set_adapter {fmt.number(sw.set_adapter_ms.median)} ms "
            f"(unmerged); an in-place merge + unmerge {fmt.number(sw.merge_unmerge_ms.median)} "
            "ms (merged)."
        )
    for cold, label in ((group.cold_start_s, "forward"), (group.cold_start_generate_s, "generate")):
        if cold:
            times = ", ".join(f"{k} {fmt.number(v)} s" for k, v in cold.items())
            out.append(f"Cold start ({label}; load base and adapters): {times}.")
    if group.analytic is not None and fmt.finite(group.analytic.extra_flops_ratio):
        out.append(
            f"LoRA adds {fmt.pct(group.analytic.extra_flops_ratio, 3)} of the base model's "
            "linear-layer FLOPs (analytic)."
        )
    return tuple(out)


def refused(results: Results) -> dict[str, str]:
    """Engines the benchmark refused to time, with the reason."""
    group = sv.serving(results)
    return dict(group.refused) if group is not None else {}
