"""Tuning figures (`loralens hpo` applied with `hpo.use`): the search history and the importance
of each parameter, per task, one line or bar group per variant."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from loralens.report.plotstyle import colours, grid, legend_below
from loralens.results.schema import Results


def _tasks(results: Results) -> list[str]:
    """The tasks a search tuned, in first-seen order."""
    return list(dict.fromkeys(t.task for t in results.tuning))


def history(results: Results) -> Figure | None:
    """Val score of each finished trial (pruned hollow) and the best so far, per task."""
    if not any(t.history for t in results.tuning):
        return None
    tasks = _tasks(results)
    colour = colours(list(dict.fromkeys(t.method for t in results.tuning)))
    fig, axes = grid(len(tasks), "Hyperparameter search on val")
    for ax, task in zip(axes, tasks, strict=True):
        for t in (t for t in results.tuning if t.task == task and t.history):
            points = [(p.number, p.value, p.state) for p in t.history if p.value is not None]
            numbers = np.array([n for n, _, _ in points])  # (trials,)
            values = np.array([v for _, v, _ in points])  # (trials,)
            better = results.metric(t.metric).greater_is_better
            best = (np.maximum if better else np.minimum).accumulate(values)
            c = colour[t.method]
            done = np.array([s == "complete" for _, _, s in points])
            ax.scatter(numbers[done], values[done], color=c, s=18, label=t.method)
            ax.scatter(numbers[~done], values[~done], facecolors="none", edgecolors=c, s=18)
            ax.step(numbers, best, where="post", color=c, linewidth=1.2)
        ax.set_title(task)
        ax.set_xlabel("trial")
        ax.set_ylabel(f"val {results.tuning[0].metric}")
    legend_below(fig, axes, "variant (hollow: pruned; line: best so far)")
    return fig


def importance(results: Results) -> Figure | None:
    """Optuna's fANOVA importance of each tuned parameter, per task and variant."""
    rows = [t for t in results.tuning if t.importance]
    if not rows:
        return None
    tasks = [task for task in _tasks(results) if any(t.task == task for t in rows)]
    colour = colours(list(dict.fromkeys(t.method for t in results.tuning)))
    fig, axes = grid(len(tasks), "Parameter importance of the search (fANOVA)")
    for ax, task in zip(axes, tasks, strict=True):
        mine = [t for t in rows if t.task == task]
        params = sorted({p for t in mine for p in t.importance})
        height = 0.8 / len(mine)
        for i, t in enumerate(mine):
            y = np.arange(len(params)) + i * height  # (params,)
            shares = dict.fromkeys(params, 0.0) | t.importance  # a parameter it did not tune: 0
            share = [shares[p] for p in params]
            ax.barh(y, share, height=height, color=colour[t.method], label=t.method)
        ax.set_yticks(np.arange(len(params)) + 0.4 - height / 2, params)
        ax.set_xlabel("share of val-score variance")
        ax.set_title(task)
    legend_below(fig, axes, "variant")
    return fig
