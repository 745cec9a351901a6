"""Drift figures: 1 − debiased CKA by layer, layer x step heatmaps, drift over training steps
and against the val score."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from loralens.report import extract as ex
from loralens.report.plotstyle import colours, grid, legend_below, markers
from loralens.results.schema import Results


def _task_panels(results: Results, data: Mapping[tuple, Any], title: str) -> tuple:
    """(tasks with data, methods, colour and marker per method, figure, one axis per task)."""
    tasks, methods = ex.tasks_in(results, data), ex.methods(results)
    fig, axes = grid(len(tasks), title)
    return tasks, methods, colours(methods), markers(methods), fig, axes


def drift_by_layer(results: Results) -> Figure | None:
    """1 − debiased CKA per layer at the compared step, one line per method and task panel."""
    data = ex.drift_by_layer(results)
    if not data:
        return None
    title = (
        f"Drift (1 − debiased CKA) by layer ({ex.drift_pooling(results)} pooling, "
        f"{ex.compared_label(results)})"
    )
    tasks, methods, colour, _, fig, axes = _task_panels(results, data, title)
    for ax, task in zip(axes, tasks, strict=True):
        for method in (m for m in methods if (task, m) in data):
            d = data[(task, method)]
            ax.plot(d["layer"], d["mean"], color=colour[method], label=method)
            if np.isfinite(d["low"]).any():
                ax.fill_between(
                    d["layer"], d["low"], d["high"], color=colour[method], alpha=0.2, linewidth=0
                )
        ax.set(title=task, xlabel="Layer (0 = embeddings)", ylabel="Drift, 1 − debiased CKA")
        ax.set_ylim(bottom=0)
    legend_below(fig, axes, "method (band: envelope of per-seed jackknife 95% CIs)")
    return fig


def drift_over_steps(results: Results) -> Figure | None:
    """Layer-mean drift against training step, mean ± SD over seeds, one panel per task."""
    data = ex.drift_over_steps(results)
    if not data:
        return None
    title = f"Drift over training ({ex.drift_pooling(results)} pooling, 1 − debiased CKA)"
    tasks, methods, colour, marker, fig, axes = _task_panels(results, data, title)
    for ax, task in zip(axes, tasks, strict=True):
        for method in (m for m in methods if (task, m) in data):
            d = data[(task, method)]
            sd = np.where(np.isfinite(d["sd"]), d["sd"], 0.0)
            ax.errorbar(
                d["step"],
                d["mean"],
                yerr=sd,
                color=colour[method],
                marker=marker[method],
                capsize=3,
                label=method,
            )
        ax.set(
            title=task, xlabel="Training step", ylabel="Mean drift over layers, 1 − debiased CKA"
        )
        ax.set_ylim(bottom=0)
    legend_below(fig, axes, "method (error bars: ± SD over seeds)")
    return fig


def cka_heatmaps(results: Results) -> Figure | None:
    """Layer x step heatmaps of CKA with the base model (mean over seeds) per task and method."""
    cells = [
        (t, m, g)
        for t in ex.tasks(results)
        for m in ex.methods(results)
        if (g := ex.cka_grid(results, t, m)) is not None
    ]
    if not cells:
        return None
    lowest = min(float(np.nanmin(g["cka"])) for _, _, g in cells)
    n_methods = len({m for _, m, _ in cells})
    title = (
        f"Debiased CKA with the base model by layer and step ({ex.drift_pooling(results)} pooling)"
    )
    fig, axes = grid(len(cells), title, panel_w=3.2, panel_h=3.0, max_cols=max(n_methods, 2))
    image = None
    for ax, (task, method, g) in zip(axes, cells, strict=True):
        image = ax.imshow(
            g["cka"],
            aspect="auto",
            origin="lower",
            cmap="cividis",
            vmin=lowest,
            vmax=1.0,
            interpolation="nearest",
        )
        ax.set_xticks(range(len(g["step"])), [str(s) for s in g["step"]])
        ticks = np.linspace(0, len(g["layer"]) - 1, min(6, len(g["layer"]))).round().astype(int)
        ax.set_yticks(ticks, [str(g["layer"][i]) for i in ticks])
        ax.set(title=f"{task} · {method}", xlabel="Training step", ylabel="Layer")
        ax.grid(False)
    fig.colorbar(image, ax=axes, label="CKA (mean over seeds; 1 = unchanged)", shrink=0.9)
    return fig


def drift_against_val(results: Results) -> Figure | None:
    """Layer-mean drift against the val score over training, one line per run, task panels."""
    data = ex.drift_against_val(results)
    if not data:
        return None
    title = f"Drift against validation score during training ({ex.drift_pooling(results)} pooling)"
    tasks, _, colour, marker, fig, axes = _task_panels(results, data, title)
    for ax, task in zip(axes, tasks, strict=True):
        metric = results.decisions.selection_metric[task]  # the val score recorded
        shown: set[str] = set()
        for (t, method, _seed), xy in data.items():
            if t != task:
                continue
            label = None if method in shown else method
            shown.add(method)
            ax.plot(xy[:, 0], xy[:, 1], color=colour[method], marker=marker[method], label=label)
        ax.set(
            title=task, xlabel=f"val {metric}", ylabel="Mean drift over layers, 1 − debiased CKA"
        )
    legend_below(fig, axes, "method (one line per seed, in step order)")
    return fig
