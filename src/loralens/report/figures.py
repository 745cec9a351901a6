"""Figures of the report: pure functions from the results dict to matplotlib figures (or None).

Each function returns None when its data is missing; `draw_figures` renders those that exist to
PNG bytes. Figures are built with `matplotlib.figure.Figure` (Agg canvas, no pyplot state).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from loralens.report import extract as ex
from loralens.report import extract_serving as sv
from loralens.report import extract_sparsity as sp
from loralens.report import (
    figures_drift,
    figures_serving,
    figures_tuning,
    figures_variants,
    forgetting,
)
from loralens.report.fmt import metrics_title as fmt_metrics_title
from loralens.report.fmt import num
from loralens.report.plotstyle import (
    baseline_lines,
    colours,
    grid,
    legend_below,
    markers,
    metric_axis_label,
    metric_scale,
    render_png,
    style,
)
from loralens.results.schema import Results


def performance(results: Results) -> Figure | None:
    """Test metric per method (mean ± SD over seeds, seeds as dots) with baselines as lines."""
    tasks = ex.tasks_in(results, ex.runs_by(results))
    metric_of = ex.metric_names(results, tasks)
    reading = {t: results.metric(m) for t, m in metric_of.items()}
    if not tasks:
        return None
    methods = ex.methods(results)
    colour = colours(methods)
    title = f"Task performance ({fmt_metrics_title(reading)} on test)"
    fig, axes = grid(len(tasks), title)
    for ax, task in zip(axes, tasks, strict=True):
        metric = metric_of[task]
        k = metric_scale(reading[task])
        for i, method in enumerate(methods):
            values = [num(ex.test_value(r, metric)) for r in ex.runs_of(results, task, method)]
            values = np.array([v for v in values if np.isfinite(v)]) * k
            if values.size == 0:
                continue
            jitter = np.linspace(-0.12, 0.12, values.size) if values.size > 1 else np.zeros(1)
            ax.scatter(i + jitter, values, color=colour[method], alpha=0.45, s=14, zorder=2)
            sd = values.std(ddof=1) if values.size > 1 else 0.0
            ax.errorbar(
                i,
                values.mean(),
                yerr=sd,
                color=colour[method],
                marker="o",
                markersize=7,
                capsize=5,
                linewidth=2,
                zorder=3,
            )
        baseline_lines(ax, results, task, metric)
        ax.set_xticks(range(len(methods)), methods)
        ax.set_xlim(-0.6, len(methods) - 0.4)
        ax.set(
            title=task,
            ylabel=metric_axis_label(reading[task]),
            xlabel="Method (mean ± SD; dots: seeds)",
        )
    legend_below(fig, axes, "baselines (same evaluation path, test split)")
    return fig


def drift_vs_performance(results: Results) -> Figure | None:
    """Each run's layer-mean drift against its test metric, coloured by method, shaped by task."""
    pairs = ex.drift_performance_pairs(results)
    if not pairs:
        return None
    metric_of = {p["task"]: p["metric"] for p in pairs}
    colour, marker = colours(ex.methods(results)), markers(ex.tasks(results))
    fig, (ax,) = grid(1, "Drift against task performance (one point per run)", panel_w=5.6)
    for p in pairs:
        ax.scatter(
            p["drift"],
            p["score"] * metric_scale(results.metric(p["metric"])),
            color=colour[p["method"]],
            marker=marker[p["task"]],
            s=36,
            edgecolor="white",
            linewidth=0.5,
        )
    seen_m = list(dict.fromkeys(p["method"] for p in pairs))
    seen_t = list(dict.fromkeys(p["task"] for p in pairs))
    handles = [ax.scatter([], [], color=colour[m], marker="o", label=m) for m in seen_m]
    handles += [ax.scatter([], [], color="#444444", marker=marker[t], label=t) for t in seen_t]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(5, len(handles)),
        title="colour: method · marker: task",
    )
    names = set(metric_of.values())
    percent = all(results.metric(m).percent for m in names)
    one = metric_axis_label(results.metric(next(iter(names)))) if len(names) == 1 else ""
    ylabel = one or "Test primary metric" + (" (%)" if percent else "")
    ax.set(xlabel="Mean drift over layers, 1 − debiased CKA (compared step)", ylabel=ylabel)
    return fig


def sparsity(results: Results) -> Figure | None:
    """Effective rank of the weight update by layer, per method, one panel per task."""
    data = sp.sparsity_by_layer(results)
    if not data:
        return None
    tasks = ex.tasks_in(results, data)
    methods = ex.methods(results)
    colour, marker = colours(methods), markers(methods)
    fig, axes = grid(len(tasks), "Rank used by the weight update ΔW")
    ranks = [num(s["lora_rank"].mean) for s in sp.sparsity_summary(results).values()]
    ranks = sorted({r for r in ranks if np.isfinite(r)})
    for ax, task in zip(axes, tasks, strict=True):
        for method in methods:
            if (task, method) in data:
                d = data[(task, method)]
                ax.plot(
                    d["layer"], d["mean"], color=colour[method], marker=marker[method], label=method
                )
        for r in ranks:
            ax.axhline(
                r, color="#555555", linestyle="--", linewidth=1, label=f"LoRA rank r = {r:g}"
            )
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.set(title=task, xlabel="Layer", ylabel="Effective rank (mean over modules, seeds)")
    legend_below(fig, axes)
    return fig


@dataclass(frozen=True)
class FigureSpec:
    """A figure of the report: file stem, section it belongs to, caption and drawing function."""

    key: str
    section: str
    caption: str
    draw: Callable[[Results], Figure | None]


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec(
        "performance",
        "performance",
        "Test performance per method: mean ± SD over seeds, each seed as a dot; "
        "baselines, where measured, as horizontal lines.",
        performance,
    ),
    FigureSpec(
        "drift_by_layer",
        "drift",
        "Drift (1 − debiased linear CKA with the base model) per layer at the compared step (one "
        "every run reached), mean over seeds; the band spans the per-seed 95% intervals "
        "(delete-one jackknife of debiased CKA over probe examples), shown as 1 − CKA.",
        figures_drift.drift_by_layer,
    ),
    FigureSpec(
        "cka_heatmap",
        "drift",
        "Debiased linear CKA with the base model per layer and snapshot step, mean over seeds.",
        figures_drift.cka_heatmaps,
    ),
    FigureSpec(
        "drift_over_steps",
        "drift",
        "Mean drift over layers at each snapshot step, mean ± SD over seeds.",
        figures_drift.drift_over_steps,
    ),
    FigureSpec(
        "drift_vs_val",
        "drift",
        "Mean drift over layers against the primary metric on val at each snapshot step, one "
        "line per run: a method that reaches a val score with less drift lies lower.",
        figures_drift.drift_against_val,
    ),
    FigureSpec(
        "drift_vs_performance",
        "drift",
        "Each run's mean drift against its test score.",
        drift_vs_performance,
    ),
    FigureSpec(
        "forgetting_vs_drift",
        "forgetting",
        "Each run's change in general-text NLL against the base model (> 0: it forgot) against "
        "its mean drift over layers at the compared step: does moving representations less "
        "come with forgetting less?",
        forgetting.forgetting_vs_drift,
    ),
    FigureSpec(
        "serving_latency",
        "serving",
        "One adapter per batch: latency (p50, band to p95) and throughput against batch size.",
        figures_serving.latency,
    ),
    FigureSpec(
        "serving_overhead",
        "serving",
        "p50 latency of K adapters mixed in one batch against merged weights serving one "
        "adapter's batch of the same size; dotted: the hypothesis limit.",
        figures_serving.overhead,
    ),
    FigureSpec(
        "serving_memory",
        "serving",
        "Memory of N merged copies against one base model plus N unmerged adapters (the "
        "benchmark's measured per-adapter cost), with the reported break-even.",
        figures_serving.memory,
    ),
    FigureSpec(
        "variants_pareto",
        "variants",
        "Test score of each variant against its trainable parameters (log scale), mean ± SD "
        "over seeds; dashed: the Pareto front of the means (variants no other one beats on both "
        "parameters and score); baselines, where measured, as horizontal lines.",
        figures_variants.accuracy_vs_params,
    ),
    FigureSpec(
        "adalora_ranks",
        "variants",
        "Rank AdaLoRA kept in each adapted module at the end of its budget schedule, by layer "
        "and module type, mean over seeds.",
        figures_variants.adalora_ranks,
    ),
    FigureSpec(
        "tuning_history",
        "setup",
        "The hyperparameter search of each task and variant on val (`loralens hpo`): each "
        "finished trial's score (hollow: pruned, its last reported score) and the best so far.",
        figures_tuning.history,
    ),
    FigureSpec(
        "tuning_importance",
        "setup",
        "How much of the val score's variance over the search each tuned parameter explains "
        "(Optuna's fANOVA importance), per task and variant.",
        figures_tuning.importance,
    ),
    FigureSpec(
        "sparsity_rank",
        "sparsity",
        "Effective rank of ΔW per layer (mean over modules and seeds); dashed: LoRA rank.",
        sparsity,
    ),
)


def draw_figures(results: Results, specs: tuple[FigureSpec, ...] | None = None) -> dict[str, bytes]:
    """PNG bytes of every figure whose data exists, by key, in report order."""
    out: dict[str, bytes] = {}
    views = sv.views(results)
    for spec in FIGURES if specs is None else specs:
        # Serving figures: one per benchmark group, keyed key-1, key-2, ... when there are several.
        todo = [(spec.key, results)]
        if spec.section == "serving" and len(views) > 1:
            todo = [(f"{spec.key}-{i}", view) for i, (_, view) in enumerate(views, 1)]
        for key, data in todo:
            with style():
                fig = spec.draw(data)
                if fig is not None:
                    out[key] = render_png(fig)
    return out
