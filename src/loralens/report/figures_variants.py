"""Variant figures: accuracy against trainable parameters with the Pareto front; AdaLoRA ranks."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from loralens.report import extract as ex
from loralens.report import extract_variants as xv
from loralens.report.plotstyle import (
    baseline_lines,
    colours,
    grid,
    legend_below,
    markers,
    metric_axis_label,
    metric_scale,
)
from loralens.results.schema import Results

FRONT_COLOUR = "#333333"


def accuracy_vs_params(results: Results) -> Figure | None:
    """Test metric (mean ± SD over seeds) against trainable parameters (log x), per task."""
    data, metric = xv.pareto_points(results), xv.pareto_metric(xv.variant_rows(results))
    if not data or metric is None:
        return None
    tasks = [t for t in ex.tasks(results) if t in data]
    names = ex.methods(results)
    colour, marker, k = colours(names), markers(names), metric_scale(results.metric(metric))
    fig, axes = grid(len(tasks), "Test score against trainable parameters (Pareto front)")
    for ax, task in zip(axes, tasks, strict=True):
        for p in data[task]:
            sd = p["sd"] * k if np.isfinite(p["sd"]) else 0.0
            ax.errorbar(
                p["params"],
                p["mean"] * k,
                yerr=sd,
                color=colour[p["method"]],
                marker=marker[p["method"]],
                markersize=7 if p["on_front"] else 5,
                markeredgecolor=FRONT_COLOUR if p["on_front"] else "white",
                capsize=4,
                linestyle="none",
                zorder=3,
                label=p["method"],
            )
        xs, ys = xv.front_line(data[task])
        if xs.size:
            ax.step(
                xs,
                ys * k,
                where="post",
                color=FRONT_COLOUR,
                linestyle="--",
                linewidth=1.2,
                zorder=2,
                label="Pareto front (mean)",
            )
        baseline_lines(ax, results, task, metric)
        ax.set_xscale("log")
        ax.set(
            title=task,
            xlabel="Trainable parameters (log scale)",
            ylabel=metric_axis_label(results.metric(metric)),
        )
    legend_below(fig, axes, "variant (error bars: ± SD over seeds; outlined: on the front)")
    return fig


def adalora_ranks(results: Results) -> Figure | None:
    """AdaLoRA's final kept rank by layer and module type (mean over seeds), per task, variant."""
    grids = xv.adalora_grids(results)
    if not grids:
        return None
    order = ex.tasks(results)
    cells = sorted(
        grids.items(),
        key=lambda kv: (order.index(kv[0][0]) if kv[0][0] in order else len(order), kv[0][1]),
    )
    top = max(float(np.nanmax(g["rank"])) for _, g in cells)
    fig, axes = grid(len(cells), "AdaLoRA: rank kept per module after budget allocation", 3.4, 3.6)
    image = None
    for ax, ((task, method), g) in zip(axes, cells, strict=True):
        image = ax.imshow(
            g["rank"],
            aspect="auto",
            origin="lower",
            cmap="viridis",
            vmin=0,
            vmax=max(top, 1.0),
            interpolation="nearest",
        )
        ax.set_xticks(range(len(g["module_type"])), g["module_type"], rotation=45, ha="right")
        ticks = np.linspace(0, len(g["layer"]) - 1, min(8, len(g["layer"]))).round().astype(int)
        ax.set_yticks(ticks, [str(g["layer"][i]) for i in ticks])
        ax.set(title=f"{task} · {method}", xlabel="Module type", ylabel="Layer")
        ax.grid(False)
    fig.colorbar(image, ax=axes, label="Kept rank (mean over seeds)", shrink=0.9)
    return fig
