"""Result tables of the report as plain `Table`s of formatted cells (None when data is missing)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from loralens.report import extract as ex
from loralens.report import extract_sparsity as sp
from loralens.report import fmt
from loralens.report.document import Table
from loralens.results.schema import Baseline, CutCounts, DriftControl, Results, Run

DASH = "—"


def _labels(labels: Mapping[str, int], size: int) -> str:
    """'rotten 203 (42%) · fresh 277 (58%)'."""
    parts = []
    for name, n in labels.items():
        share = f" ({fmt.pct(n / size, 0)})" if size > 0 else ""
        parts.append(f"{name} {fmt.integer(n)}{share}")
    return " · ".join(parts) or DASH


def _quantile(lengths: Mapping[str, float] | None, q: str) -> str:
    """A token-length quantile ('n/a' when lengths were not counted)."""
    if lengths is None or q not in lengths:
        return fmt.NA
    return fmt.number(lengths[q])


def data_table(results: Results) -> Table | None:
    """Split sizes, label distributions and token lengths per task."""
    if not results.data:
        return None
    rows = []
    for task, stats in results.data.items():
        for split, s in stats.splits.items():
            rows.append(
                (
                    task,
                    split,
                    fmt.integer(s.size),
                    _labels(s.labels, s.size),
                    *(_quantile(s.token_length, q) for q in ("p50", "p95", "p100")),
                    _encoded(stats.encoded, split) or _cut(stats.cut, split),
                )
            )
    columns = ("Task", "Split", "Examples", "Labels", "Tokens p50", "p95", "max", "Cut")
    note = (
        "Token lengths of the input as the models read it (through the task's prompt with a "
        "prompt head), with the study model's tokenizer; Cut: inputs longer than model.max_length, "
        "cut in their first fields (never the last field or the prompt's cue), with those that "
        "lost a whole field; for language modelling the test documents and windows scored, for QA "
        "the answers no window of the context holds (left out of training). Test is the "
        "original validation set unless the task's notes say otherwise."
    )
    return Table("data", "Dataset statistics", columns, tuple(rows), "llrlrrrr", note)


def _encoded(encoded: Mapping[str, Mapping[str, int]] | None, split: str) -> str | None:
    """What a language-modelling or QA run reads of a split, or None (classification)."""
    if encoded is None or split not in encoded:
        return None
    e = encoded[split]
    if "documents" in e:
        return (
            f"{fmt.integer(e['documents_scored'])} of {fmt.integer(e['documents'])} documents "
            f"({fmt.integer(e['windows_scored'])} of {fmt.integer(e['windows'])} windows)"
        )
    if "answers_lost" in e:
        return f"{fmt.integer(e['answers_lost'])} answers lost"
    return None


def _cut(cut: Mapping[str, CutCounts] | None, split: str) -> str:
    """'12 (0 emptied)' for a split's inputs cut to max_length ('n/a' when not counted)."""
    if cut is None or split not in cut:
        return fmt.NA
    c = cut[split]
    return f"{fmt.integer(c.cut)} ({fmt.integer(c.emptied)} emptied)"


def _trainable(runs: list[Run]) -> str:
    """'0.34% (462.0k)' from the first run."""
    if not runs:
        return DASH
    x = runs[0].trainable_share
    share = f"{fmt.pct(x, 2 if x < 0.1 else 0)} " if fmt.finite(x) else ""
    return f"{share}({fmt.count(runs[0].trainable_params)})"


def _baseline_cell(results: Results, b: Baseline, metric: str) -> str:
    """A baseline's score: value [CI], value ± SD over seeds, or the bare value."""
    value = ex.baseline_value(b, metric)
    ci, sd = ex.baseline_spread(b, metric)
    shown = results.metric(metric)
    return fmt.metric_ci(shown, value, ci) if ci else fmt.metric_pm(shown, value, sd)


def _span(values: list[Any], show: Any = fmt.integer) -> str:
    """'3' or '2–3' over the finite values."""
    nums = sorted({fmt.num(v) for v in values if fmt.finite(v)})
    if not nums:
        return DASH
    return show(nums[0]) if len(nums) == 1 else f"{show(nums[0])}–{show(nums[-1])}"


def _baseline_rows(results: Results, tasks: list[str], metric_of: dict[str, str]) -> list[tuple]:
    """One row per baseline name: its score on each task and what it is."""
    by_name: dict[str, dict[str, Baseline]] = {}
    for task in tasks:
        for b in ex.baselines(results, task):
            by_name.setdefault(b.name, {})[task] = b
    rows = []
    for name, per_task in by_name.items():
        cells = [
            _baseline_cell(results, per_task[t], metric_of[t]) if t in per_task else DASH
            for t in tasks
        ]
        details = list(dict.fromkeys(b.detail for b in per_task.values()))
        rows.append(
            (f"{name.replace('_', '-')} (baseline)", *cells, DASH, DASH, "; ".join(details))
        )
    return rows


def performance_table(results: Results) -> Table | None:
    """The primary test metric by task: trained methods (mean ± SD over seeds), then baselines."""
    tasks = ex.tasks_in(results, ex.runs_by(results))
    metric_of = ex.metric_names(results, tasks)
    if not tasks:
        return None
    rows = []
    for method in ex.methods(results):
        runs = [r for t in tasks for r in ex.runs_of(results, t, method)]
        if runs:
            cells = [(t, ex.run_metric(results, t, method, metric_of[t])) for t in tasks]
            rows.append(
                (
                    method,
                    *(fmt.metric_pm(results.metric(metric_of[t]), c.mean, c.sd) for t, c in cells),
                    _span([c.n for _, c in cells if c.n]),
                    _trainable(runs),
                    "",
                )
            )
    rows += _baseline_rows(results, tasks, metric_of)
    columns = ("Model", *tasks, "Seeds", "Trainable", "Note")
    note = (
        "Trained methods: mean ± SD over seeds (SD in percentage points). Baselines: value "
        "[95% CI] or ± SD over their seeds, scored by the same evaluation path on the test split."
    )
    title = (
        f"Test {fmt.metrics_title({t: results.metric(m) for t, m in metric_of.items()})} by task"
    )
    align = "l" + "r" * (len(tasks) + 2) + "l"
    return Table("performance", title, columns, tuple(rows), align, note)


def _pm(
    results: Results, runs: list[Run], metric: str, field: Callable[[Run], Any] | None = None
) -> str:
    """Mean ± SD over runs of a test metric (or of a run field, in that metric's units)."""
    s = ex.summarize(field(r) if field else ex.test_value(r, metric) for r in runs)
    return fmt.metric_pm(results.metric(metric), s.mean, s.sd)


def _mean(runs: list[Run], field: Callable[[Run], Any]) -> float:
    """Mean over runs of a run field."""
    return ex.summarize(field(r) for r in runs).mean


def details_table(results: Results) -> Table | None:
    """Other test metrics and training facts per task and method (mean ± SD over seeds)."""
    metrics = ex.metrics(results)
    if not metrics:
        return None
    others = metrics[1:]  # the first (accuracy, if any) is in the performance table
    # Time, throughput and memory move to the cost-per-variant table when results.json has it.
    cost = not results.variants.rows
    rows = tuple(
        (
            task,
            method,
            *(_pm(results, runs, m) for m in others),
            _pm(results, runs, results.decisions.selection_metric[task], lambda r: r.val_best),
            _span([r.selected_step for r in runs]),
            *(
                (
                    fmt.duration(_mean(runs, lambda r: r.wall_time_s)),
                    fmt.number(_mean(runs, lambda r: r.train_tokens_per_s)),
                    fmt.number(_mean(runs, lambda r: r.peak_rss_mb)),
                )
                if cost
                else ()
            ),
        )
        for (task, method), runs in ex.runs_by(results).items()
    )
    columns = (
        "Task",
        "Method",
        *(results.metric(m).label for m in others),
        "Val (best)",
        "Step",
        *(("Train time", "Tokens/s", "RSS (MB)") if cost else ()),
    )
    note = (
        "Mean (± SD) over seeds. Val (best): the selection score on val (the task's primary "
        "metric; for extractive QA the answer tokens' cross-entropy); step: the selected checkpoint"
        + (
            "; train time, training tokens/s and peak RSS are means per run."
            if cost
            else "; cost per run: see the cost-per-variant table."
        )
    )
    align = "ll" + "r" * (len(columns) - 2)
    return Table("details", "Other metrics and training", columns, rows, align, note)


def drift_table(results: Results) -> Table | None:
    """Mean drift over layers at the compared step per task and method (mean ± SD over seeds)."""
    summary = ex.drift_summary(results)
    if not summary:
        return None
    last = {k: v["mean"][-1] for k, v in ex.drift_by_layer(results).items() if len(v["mean"])}
    pooling = ex.drift_pooling(results)
    rows = []
    for (task, method, pool), s in summary.items():
        top = last[(task, method)] if pool == pooling and (task, method) in last else None
        rows.append(
            (
                task,
                method,
                pool,
                f"{fmt.fixed(s.mean)} ± {fmt.spread(s.sd)}"
                if fmt.finite(s.sd)
                else fmt.fixed(s.mean),
                fmt.fixed(top),
                str(s.n),
            )
        )
    columns = ("Task", "Method", "Pooling", "Mean drift", "Last layer", "Seeds")
    note = (
        "Drift = 1 − debiased linear CKA with the base model (biased CKA is in results.json); "
        "mean over layers, mean ± SD over seeds, at a training step every run reached. "
        f"Last layer: given for the compared pooling, {pooling} (the others' are in "
        "results.json)."
    )
    flagged = ex.dominated_layers(results)
    if flagged:
        listed = "; ".join(f"{t}: layers {', '.join(map(str, v))}" for t, v in flagged.items())
        note += (
            f" One principal component holds more than half of CKA's weight (λ₁²/Σλ²) in {listed}: "
            "drift there measures that component alone."
        )
    return Table(
        "drift",
        f"Drift summary (mean over layers, {ex.compared_label(results)})",
        columns,
        tuple(rows),
        "lllrrr",
        note,
    )


def controls_table(results: Results) -> Table | None:
    """Controls per task and pooling: n, d, self-CKA, random-init CKA, dominated layers."""
    cells: dict[tuple[str, str], list[DriftControl]] = {}
    for c in results.drift.controls:
        cells.setdefault((c.task, c.pooling), []).append(c)
    if not cells:
        return None

    def span(rows: list[DriftControl], key: str) -> str:
        """'lo – hi' of a control over layers (one value when constant)."""
        vals = [fmt.num(getattr(r, key)) for r in rows if fmt.finite(getattr(r, key))]
        if not vals:
            return fmt.NA
        lo, hi = min(vals), max(vals)
        if key in ("n", "d"):
            return str(int(lo)) if lo == hi else f"{int(lo)} – {int(hi)}"
        return fmt.fixed(lo) if hi - lo < 5e-4 else f"{fmt.fixed(lo)} – {fmt.fixed(hi)}"

    rows = tuple(
        (
            task,
            pool,
            str(len(rs)),
            span(rs, "n"),
            span(rs, "d"),
            span(rs, "self_cka"),
            span(rs, "random_init_cka"),
            str(sum(1 for r in rs if r.dominated)),
        )
        for (task, pool), rs in cells.items()
    )
    columns = ("Task", "Pooling", "Layers", "n", "d", "Self-CKA", "Random-init CKA", "Dominated")
    note = (
        "Debiased CKA, range over layers. Self-CKA should be 1; random-init CKA is the floor. "
        "n < d makes biased CKA read high, which is why drift uses the debiased estimator. "
        "Dominated: layers of the base where one principal component holds more than half of "
        "what linear CKA weighs, λ₁²/Σλ² (an attention sink leaking into the pooled row)."
    )
    return Table("controls", "CKA controls", columns, rows, "llrrrrrr", note)


def sparsity_table(results: Results) -> Table | None:
    """Rank measures of ΔW per task and method (mean over modules and seeds)."""
    summary = sp.sparsity_summary(results)
    if not summary:
        return None
    fields = ("effective_rank", "stable_rank", "energy_rank_90")
    rows = []
    for (task, method), s in summary.items():
        util = s["rank_utilisation"]
        rows.append(
            (
                task,
                method,
                str(s["effective_rank"].n),
                *(fmt.number(s[f].mean) for f in fields),
                fmt.pct(util.mean) if util.n else DASH,
            )
        )
    columns = (
        "Task",
        "Method",
        "Matrices",
        "Effective rank",
        "Stable rank",
        "90% energy rank",
        "Rank used",
    )
    note = "Mean over weight matrices (modules x seeds). Rank used = effective rank / LoRA rank."
    return Table("sparsity", "Rank of the weight update ΔW", columns, tuple(rows), "llrrrrr", note)


def intruder_table(results: Results) -> Table | None:
    """Intruder dimensions per task, method and module type, against each type's chance level."""
    thresholds = sp.sparsity_thresholds(results)
    if not thresholds:
        return None
    eps = thresholds[len(thresholds) // 2]  # one threshold keeps it readable; all are in results
    rows = tuple(
        (
            task,
            method,
            kind,
            str(c["count"].n),
            fmt.number(c["count"].mean),
            fmt.number(c["chance"].mean) if c["chance"].n else DASH,
        )
        for (task, method, kind), c in sp.intruders_by_type(results, eps).items()
    )
    columns = ("Task", "Method", "Module", "Matrices", f"Intruders ε = {eps}", "Chance level")
    note = (
        f"Of the top singular vectors of each fine-tuned matrix, those with max |cos| < {eps} to "
        "every singular vector of its base; mean over matrices and seeds, per module type (their "
        "shapes differ). Chance level: the count were those vectors random directions, for that "
        "shape; a count near it means the top of the spectrum is as new as random, not that "
        "fine-tuning added structure."
    )
    title = "Intruder dimensions per module type"
    return Table("intruders", title, columns, rows, "lllrrr", note)
