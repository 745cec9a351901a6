"""Serving figures: latency vs batch size, overhead vs number of adapters, memory vs adapters."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from loralens.report import extract_serving as sv
from loralens.report.fmt import finite, num
from loralens.report.plotstyle import colours, grid, legend_below, markers
from loralens.results.schema import Results

ORDER_STYLE = {"round_robin": "-", "random": "--"}
TOKENS = {"forward": "Prompt tokens / s", "generate": "Generated tokens / s"}


def _line_style(order: str) -> str:
    """Solid for round-robin, dashed for random, dotted for any other order."""
    if order in ORDER_STYLE:
        return ORDER_STYLE[order]
    return ":"


def _tokens_label(workload: str) -> str:
    """The throughput axis label of a workload."""
    if workload in TOKENS:
        return TOKENS[workload]
    return "Tokens / s"


def _series(rows: list[dict], x: str, y: str) -> tuple[list[float], list[float]]:
    """Sorted (x, y) of rows where both are finite."""
    pts = sorted((r[x], r[y]) for r in rows if finite(r[x]) and finite(r[y]))
    return [p[0] for p in pts], [p[1] for p in pts]


def _log2_axis(ax: Axes, values: list[float]) -> None:
    """A base-2 log x axis labelled with the measured values."""
    ax.set_xscale("log", base=2)
    ticks = sorted(set(values))
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()


def latency(results: Results) -> Figure | None:
    """p50 latency (band to p95) and throughput against batch size, one adapter, per engine."""
    workload, rows = sv.single_rows(sv.serving_rows(results))
    names = [
        e
        for e in sv.engines(rows)
        if _series([r for r in rows if r["engine"] == e], "batch_size", "p50")[0]
    ]
    if workload is None or not names:
        return None
    colour, marker = colours(sv.engines(sv.serving_rows(results))), markers(names)
    fig, (ax_l, ax_t) = grid(2, f"Serving one adapter per batch ({workload} workload)")
    for e in names:
        mine = [r for r in rows if r["engine"] == e]
        xs, p50 = _series(mine, "batch_size", "p50")
        xs95, p95 = _series(mine, "batch_size", "p95")
        ax_l.plot(xs, p50, color=colour[e], marker=marker[e], label=e)
        if xs95 == xs:
            ax_l.fill_between(xs, p50, p95, color=colour[e], alpha=0.15, linewidth=0)
        ax_t.plot(
            *_series(mine, "batch_size", "tokens_per_s"), color=colour[e], marker=marker[e], label=e
        )
    for ax in (ax_l, ax_t):
        _log2_axis(ax, [r["batch_size"] for r in rows if finite(r["batch_size"])])
        ax.set_xlabel("Batch size (requests)")
        ax.set_ylim(bottom=0)
    ax_l.set(title="Latency (line: p50, band: p50–p95)", ylabel="Latency (ms)")
    ax_t.set(title="Throughput", ylabel=_tokens_label(workload))
    legend_below(fig, [ax_l, ax_t], "engine")
    return fig


def _overhead_limit(results: Results) -> float:
    """The serving-overhead threshold the analysis used."""
    return results.decisions.thresholds["serving_overhead"]


def _overhead_panel(ax: Axes, rows: list[dict], colour: dict, marker: dict) -> list[float]:
    """Overhead against K per engine (colour) and order (line style); returns the K values."""
    ks: list[float] = []
    for e in sv.engines(rows):
        single = [r for r in rows if r["engine"] == e and r["k"] == 1]
        for order in sv.orders(rows):
            mine = single + [r for r in rows if r["engine"] == e and r["order"] == order]
            xs, ys = _series(mine, "k", "overhead")
            if len(xs) > 1 or (xs and xs[0] > 1):
                ax.plot(
                    xs,
                    100 * np.asarray(ys),
                    color=colour[e],
                    marker=marker[e],
                    linestyle=_line_style(order),
                    label=f"{e}, {order}",
                )
                _paired_bars(ax, mine, colour[e])
                ks += xs
    return ks


def _paired_bars(ax: Axes, rows: list[dict], colour: str) -> None:
    """The paired ratio's interval at each row timed in pairs (bounded sides only)."""
    for r in rows:
        if r["paired"] and finite(r["ratio_low"]) and finite(r["ratio_high"]):
            low, high = 100 * (r["ratio_low"] - 1), 100 * (r["ratio_high"] - 1)
            ax.vlines(r["k"], low, high, color=colour, linewidth=1.0, alpha=0.7)


def overhead(results: Results) -> Figure | None:
    """Latency overhead against merged weights by adapters mixed in one batch, per workload."""
    rows = sv.serving_rows(results)
    panels = [(w, *sv.mixed_slice(rows, w)) for w in sv.workloads(rows)]
    panels = [
        (w, b, r) for w, b, r in panels if b is not None and any(finite(x["overhead"]) for x in r)
    ]
    if not panels:
        return None
    names = sv.engines(rows)
    colour, marker = colours(names), markers(names)
    limit = _overhead_limit(results)
    fig, axes = grid(len(panels), "Cost of serving K adapters in one batch", panel_w=4.4)
    for ax, (workload, batch, mine) in zip(axes, panels, strict=True):
        ks = _overhead_panel(ax, mine, colour, marker)
        ax.axhline(
            100 * limit,
            color="#555555",
            linestyle=":",
            linewidth=1.2,
            label=f"hypothesis limit (+{100 * limit:.0f}%)",
        )
        ax.axhline(0, color="black", linewidth=0.8)
        if ks:
            _log2_axis(ax, ks)
        ax.set(
            title=f"{workload}, batch {batch:g}",
            xlabel="Adapters mixed in the batch (K)",
            ylabel=(
                "paired ratio − 1 vs merged (%), HL with CI"
                if any(r["paired"] for r in mine)
                else "p50 vs merged's p50 at K = 1 (%)"
            ),
        )
    legend_below(fig, axes, "engine, order of requests (solid: round-robin, dashed: random)")
    return fig


def _as_float(key: str) -> float:
    """A JSON object key ('4') as a number, NaN when it is not one."""
    try:
        return float(key)
    except ValueError:
        return float("nan")


def memory(results: Results) -> Figure | None:
    """Memory of N merged copies against one base plus N adapters, with the break-even."""
    mem = sv.memory(results)
    if mem is None or not mem.merged_copies_mb:
        return None
    points = sorted((_as_float(k), num(v)) for k, v in mem.merged_copies_mb.items())
    points = [(n, v) for n, v in points if finite(n) and finite(v)]
    if not points:
        return None
    ns, merged = [n for n, _ in points], [v for _, v in points]
    per = {e: v for e, v in mem.per_adapter_mb.items() if e != sv.MERGED and finite(v)}
    names = [sv.MERGED, *per]
    colour, marker = colours(sv.engines(sv.serving_rows(results)) or names), markers(names)
    fallback = {sv.MERGED: "#0072B2"} | dict.fromkeys(per, "#777777")
    colour = fallback | colour
    fig, (ax,) = grid(1, "Memory of N adapters: merged copies vs one base + adapters", 5.6)
    ax.plot(
        ns,
        merged,
        color=colour[sv.MERGED],
        marker=marker[sv.MERGED],
        label="merged: one copy per adapter",
    )
    for e, mb in per.items():
        # The benchmark's own memory model: one base plus N times the measured per-adapter cost.
        ax.plot(
            ns,
            [mem.base_mb + n * max(mb, 0.0) for n in ns],
            marker=marker[e],
            color=colour[e],
            label=f"{e}: base + N adapters",
        )
    if mem.break_even_adapters is not None:
        x = mem.break_even_adapters
        ax.axvline(
            x,
            color="#555555",
            linestyle=":",
            linewidth=1.2,
            label=f"break-even: merging stops paying at {x:g} adapters",
        )
    _log2_axis(ax, ns)
    ax.set(xlabel="Adapters served (N)", ylabel="Memory (MiB)")
    ax.set_ylim(bottom=0)
    legend_below(fig, [ax], ncols=2)
    return fig
