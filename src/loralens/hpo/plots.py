"""Optuna's history and importance plots of one search (matplotlib), beside its result file."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna


def write_plots(study: optuna.Study, folder: Path, stem: str) -> dict[str, str]:
    """`<stem>-history.png`, `<stem>-importance.png`; a plot that cannot be drawn: its reason."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    out: dict[str, str] = {}
    plots = {"history": ovm.plot_optimization_history, "importance": ovm.plot_param_importances}
    for name, plot in plots.items():
        path = folder / f"{stem}-{name}.png"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
                ax = plot(study)
            ax.figure.savefig(path, dpi=100, bbox_inches="tight")
            plt.close(ax.figure)
            out[name] = path.name
        except (ValueError, RuntimeError) as exc:  # e.g. importance needs two complete trials
            out[name] = f"not drawn: {exc}"
    return out
