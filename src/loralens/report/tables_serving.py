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
    paired = any(r["paired"] for r in single)
    note = f"{workload.capitalize()} workload, every request in the batch on the same adapter. " + (
        "vs merged: the paired ratio - 1 (Hodges–Lehmann median over A-B-A pairs, each call "
        "timed between two calls of merged weights at the same batch size)."
        if paired
        else "vs merged: p50 latency over merged weights' p50 at the same batch size."
    )
    return Table("serving", "Latency by batch size (one adapter)", columns, out, "", note)


def _cell(r: dict[str, Any]) -> str:
    """'45.1 ms' (paired rows: their overhead is in the paired table, against their own
    baseline), '45.1 ms (+12.3%)' for a ratio of p50s against the K = 1 column."""
    ms = f"{fmt.number(r['p50'])} ms"
    if (r["engine"] == sv.MERGED and r["k"] == 1) or r["paired"]:
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
        "p50 latency. K = 1: every request on one adapter. Forward rows timed in A-B-A pairs "
        "show their overhead in the paired table, against their own baseline; other rows: "
        "(p50 over merged's p50 at K = 1, the column beside them, - 1). Generation: greedy "
        "decoding."
    )
    return Table(
        "serving_mixed",
        "Adapters mixed in one batch",
        columns,
        tuple(out),
        "lrll" + "r" * len(ks),
        note,
    )


def _x(v: float) -> str:
    """A ratio to three decimals, '…' when unbounded or missing."""
    return f"{v:.3f}" if fmt.finite(v) else "…"


def _ratio_ci(r: dict[str, Any]) -> str:
    """'×1.044 [0.987, 1.102]' (an unbounded side as '…')."""
    return f"×{_x(r['ratio'])} [{_x(r['ratio_low'])}, {_x(r['ratio_high'])}]"


def paired_table(results: Results) -> Table | None:
    """Each paired forward row against its own baseline: medians, the paired ratio, pairs."""
    rows = [r for r in sv.serving_rows(results) if r["paired"]]
    if not rows:
        return None
    names = sv.engines(rows)
    rows.sort(key=lambda r: (r["batch_size"], r["k"], r["order"], names.index(r["engine"])))
    out = tuple(
        (
            fmt.number(r["batch_size"]),
            f"{r['k']:g}",
            r["order"].replace("_", "-"),
            r["engine"],
            fmt.number(r["p50"]),
            fmt.number(r["baseline_median"]),
            _ratio_ci(r),
            f"×{_x(r['ratio_gm'])}",
            fmt.number(r["pairs"]),
            fmt.number(r["warmup_calls"]),
        )
        for r in rows
    )
    level = next((r["ratio_level"] for r in rows if fmt.finite(r["ratio_level"])), 0.95)
    columns = (
        "Batch",
        "K",
        "Order",
        "Engine",
        "p50 (ms)",
        "Its baseline, median (ms)",
        f"Paired ratio, HL [{100 * level:.0f}% CI]",
        "Geometric mean",
        "Pairs",
        "Warm-up calls",
    )
    note = (
        "Forward workload. Each call of the engine was timed between two calls of merged "
        "weights serving one adapter's batch of the same size (A-B-A, engine order shuffled "
        "per round); its baseline is the geometric mean of the two. Paired ratio: Hodges–Lehmann "
        "median of the per-pair ratios with the exact Wilcoxon signed-rank interval, "
        "descriptive (the verdicts test at their own α); the geometric mean beside it."
    )
    return Table(
        "serving_paired",
        "Paired overhead against merged weights",
        columns,
        out,
        "rrll" + "r" * 6,
        note,
    )


def noise_floor_text(results: Results) -> str:
    """The paired baseline's median across settings of one batch size, and its spread."""
    group = sv.serving(results)
    if group is None or not group.noise_floor:
        return ""
    parts = []
    for f in group.noise_floor:
        meds = ", ".join(f"{k} {fmt.number(v)} ms" for k, v in f.baseline_median_ms.items())
        parts.append(
            f"the same baseline call (merged, {f.workload} batch {f.batch_size}) read {meds}: "
            f"{fmt.pct(f.relative_spread)} apart"
        )
    return (
        "Noise floor: "
        + "; ".join(parts)
        + ". Between settings the machine drifts this much; within a pair it cancels."
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
        _timing_text(s),
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


def _timing_text(s: Any) -> str:
    """How the timings were taken: the warm-up and the rounds (pairs when recorded)."""
    extra = s.model_extra or {}
    if "pairing" not in extra:
        return f"warm-up {s.warmup}, {s.repeats} repeats, engines interleaved"
    return (
        f"warm-up until the last {extra['warmup_window']} calls of every engine agree within "
        f"{fmt.pct(extra['warmup_tolerance'], 0)} (at least {s.warmup}, at most "
        f"{extra['warmup_max']} calls); forward: {s.repeats} rounds of A-B-A pairs against "
        f"merged weights; generation: {extra['generate_repeats']} rounds, engines interleaved"
    )


def extra_items(results: Results) -> tuple[str, ...]:
    """Switching cost, cold starts and the analytic FLOPs of LoRA, as short sentences."""
    group, out = sv.serving(results), []
    if group is None:
        return ()
    if floor := noise_floor_text(results):
        out.append(floor)
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
