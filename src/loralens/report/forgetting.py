"""The report's forgetting part: each method's change against the base model on probes no run
trained on, the across-seed tests (read from results.json), and forgetting against drift."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from matplotlib.figure import Figure

from loralens.report import extract as ex
from loralens.report import fmt
from loralens.report.document import Table
from loralens.report.plotstyle import colours, grid, legend_below
from loralens.results.forgetting import TEXT_MEASURE
from loralens.results.schema import Results


def _label(measure: str) -> str:
    """A probe's column label."""
    if measure == TEXT_MEASURE:
        return "Δ NLL, general text"
    return f"Δ zero-shot accuracy, {measure.split(':', 1)[1]}"


def change_table(results: Results) -> Table | None:
    """Per task and method: each probe's change against the base, mean ± SD over seeds."""
    fg = results.forgetting
    if not fg.rows:
        return None
    cells: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    base: dict[str, float] = {}
    for r in fg.rows:
        for p in r.probes:
            cells[(r.task, r.method)][p.measure].append(p.change)
            base[p.measure] = p.base
    measures = list(dict.fromkeys(p.measure for r in fg.rows for p in r.probes))
    rows = []
    for (task, method), by in cells.items():
        values = [by[m] for m in measures]  # a defaultdict: a probe a run lacks is []
        rows.append(
            (
                task,
                method,
                *(
                    f"{fmt.fixed(np.mean(v))} ± {fmt.spread(np.std(v, ddof=1))}"
                    if len(v) > 1
                    else fmt.fixed(v[0] if v else None)
                    for v in values
                ),
                str(max(len(v) for v in values)),
            )
        )
    base_text = "; ".join(f"{_label(m).split(', ', 1)[1]}: {fmt.fixed(b)}" for m, b in base.items())
    note = (
        "Change = the run's value minus the base model's on the same probe (NLL in nats: > 0 "
        "is forgetting; accuracy as a fraction: < 0 is forgetting); mean ± SD over seeds. "
        f"Base model: {base_text}."
    )
    columns = ("Task", "Method", *(_label(m) for m in measures), "Seeds")
    return Table(
        "forgetting",
        "Forgetting against the base model",
        columns,
        tuple(rows),
        "ll" + "r" * (len(measures) + 1),
        note,
    )


def test_table(results: Results) -> Table | None:
    """Each compared pair's difference in forgetting across seeds, as the analysis tested it."""
    tests = results.forgetting.tests
    if not tests:
        return None
    rows = []
    for t in tests:
        if t.welch is None:
            rows.append(
                (
                    t.task,
                    f"{t.treatment} − {t.reference}",
                    _label(t.measure),
                    "—",
                    "—",
                    "—",
                    t.not_computed or "",
                )
            )
            continue
        w = t.welch
        rows.append(
            (
                t.task,
                f"{t.treatment} − {t.reference}",
                _label(t.measure),
                fmt.fixed(w["estimate"]),
                fmt.interval(w["ci_low"], w["ci_high"]),
                fmt.pvalue(t.p_adjusted),
                "differs" if t.significant else "no difference shown",
            )
        )
    columns = ("Task", "Difference", "Probe", "Estimate", "95% CI", "p (Holm)", "Finding")
    note = (
        "Welch t-test across seeds on the change against the base (two-sided: either method may "
        "forget more); Holm over the probes of one task and pair."
    )
    return Table(
        "forgetting-tests",
        "Forgetting: the methods compared",
        columns,
        tuple(rows),
        "lllrrrl",
        note,
    )


def forgetting_vs_drift(results: Results) -> Figure | None:
    """Each run's change in general-text NLL against its mean drift at the compared step."""
    drift = {
        (s.task, s.method, s.seed): s.mean_drift
        for s in ex.selected_summary(results)
        if s.pooling == ex.drift_pooling(results)
    }
    points = [
        (r.method, drift[key], p.change)
        for r in results.forgetting.rows
        if (key := (r.task, r.method, r.seed)) in drift and fmt.finite(drift[key])
        for p in r.probes
        if p.measure == TEXT_MEASURE
    ]
    if not points:
        return None
    colour = colours(list(dict.fromkeys(m for m, _, _ in points)))
    fig, (ax,) = grid(1, "Forgetting against drift (one point per run)", panel_w=5.6)
    for method in colour:
        xs = [x for m, x, _ in points if m == method]
        ys = [y for m, _, y in points if m == method]
        ax.scatter(xs, ys, color=colour[method], s=36, label=method, edgecolor="white")
    ax.axhline(0, color="#555555", linewidth=0.8, linestyle=":")
    ax.set(
        xlabel="Mean drift over layers (1 − debiased CKA)",
        ylabel="Δ NLL on general text (nats; > 0: forgot)",
    )
    legend_below(fig, [ax], "method")
    return fig
