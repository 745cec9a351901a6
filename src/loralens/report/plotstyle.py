"""Shared look of the report's figures: Okabe-Ito palette, rc settings, grid, PNG, metric axes."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import matplotlib as mpl
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from loralens.report import extract as ex
from loralens.report.fmt import num
from loralens.results.schema import MetricReading, Results

# Okabe & Ito (2008), colour-blind safe; yellow last (weak on white).
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
BASELINE_STYLES = {
    "majority": ("#555555", (0, (1, 1.5))),
    "random": ("#999999", (0, (4, 2))),
    "zero_shot": ("#333333", (0, (6, 2, 1, 2))),
    "encoder": ("#000000", "-"),
}
OTHER_BASELINE = ("#777777", ":")
DPI = 150
RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.35,
    "grid.linewidth": 0.5,
    "axes.prop_cycle": cycler(color=OKABE_ITO),
    "lines.linewidth": 1.6,
    "lines.markersize": 5,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
}


@contextmanager
def style() -> Iterator[None]:
    """The report's rc settings, for creating and saving a figure."""
    with mpl.rc_context(RC):
        yield


def colours(names: Sequence[str]) -> dict[str, str]:
    """A stable Okabe-Ito colour per name (by position)."""
    return {n: OKABE_ITO[i % len(OKABE_ITO)] for i, n in enumerate(names)}


def markers(names: Sequence[str]) -> dict[str, str]:
    """A stable marker per name (by position)."""
    return {n: MARKERS[i % len(MARKERS)] for i, n in enumerate(names)}


def grid(
    n_panels: int, title: str, panel_w: float = 3.6, panel_h: float = 2.9, max_cols: int = 3
) -> tuple[Figure, list[Axes]]:
    """A titled figure with `n_panels` axes in rows of at most `max_cols` (extras hidden)."""
    ncols = max(1, min(n_panels, max_cols))
    nrows = max(1, math.ceil(n_panels / ncols))
    fig = Figure(figsize=(panel_w * ncols + 0.4, panel_h * nrows + 0.5), layout="constrained")
    axes = list(np.asarray(fig.subplots(nrows, ncols, squeeze=False)).ravel())
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=11, fontweight="bold")
    return fig, axes[:n_panels]


def render_png(fig: Figure) -> bytes:
    """The figure as PNG bytes at the report's resolution."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.08)
    return buf.getvalue()


def legend_below(
    fig: Figure, axes: Sequence[Axes], title: str | None = None, ncols: int = 5
) -> None:
    """One legend for all panels, centred under them (labels de-duplicated)."""
    entries: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    if entries:
        fig.legend(
            list(entries.values()),
            list(entries),
            loc="outside lower center",
            ncols=min(ncols, len(entries)),
            title=title,
        )


def metric_scale(metric: MetricReading) -> float:
    """100 for metrics shown as percentages, else 1."""
    return 100.0 if metric.percent else 1.0


def metric_axis_label(metric: MetricReading) -> str:
    """'Test accuracy (%)'."""
    return f"Test {metric.label.lower()}" + (" (%)" if metric.percent else "")


def baseline_style(name: str) -> tuple[str, object]:
    """(colour, dash pattern) of a baseline's reference line."""
    if name in BASELINE_STYLES:
        return BASELINE_STYLES[name]
    return OTHER_BASELINE


def baseline_lines(ax: Axes, results: Results, task: str, metric: str) -> None:
    """Horizontal reference lines for the task's baselines."""
    for b in ex.baselines(results, task):
        value = num(ex.baseline_value(b, metric))
        if np.isfinite(value):
            name = b.name
            colour, dash = baseline_style(name)
            ax.axhline(
                value * metric_scale(results.metric(metric)),
                color=colour,
                linestyle=dash,
                linewidth=1.1,
                label=f"{name.replace('_', '-')} baseline",
            )
