"""Tables of the setup, the environment and the statistics section (tests, ANOVA, power)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loralens.report import extract as ex
from loralens.report import fmt
from loralens.report.document import Table
from loralens.results.schema import MetricReading, Results, VariantSettings
from loralens.results.schema_stats import (
    Anova,
    Comparison,
    CrossedTest,
    EffectSize,
    McNemar,
    NotComputed,
    StatTest,
)

Entry = StatTest | EffectSize | McNemar | CrossedTest


# McNemar's estimate is a difference in the share of correct predictions: points, whatever the
# task's primary metric.
CORRECT = MetricReading(label="correct", greater_is_better=True, percent=True)


def _estimate(r: Entry, unit: MetricReading | None) -> str:
    """A test's estimate: a difference of scores in its metric's unit, else a plain number."""
    return fmt.metric_difference(unit, r.estimate) if unit else fmt.number(r.estimate)


def _ci(r: Entry, unit: MetricReading | None) -> str:
    """'95%: [−1.7, +0.2] pp' (or '[−0.040, +0.010] nats') interval of a test or effect size."""
    lo, hi, level = r.ci_low, r.ci_high, r.confidence_level
    if not (fmt.finite(lo) or fmt.finite(hi)):
        return fmt.NA
    if unit is not None and unit.percent:
        body = fmt.minus(f"[{100 * fmt.num(lo):+.1f}, {100 * fmt.num(hi):+.1f}] pp")
    elif unit is not None:
        shown = (fmt.minus(f"{fmt.num(x):+.3f}") for x in (lo, hi))
        body = "[{}, {}]".format(*shown) + (f" {unit.unit}" if unit.unit else "")
    else:
        body = fmt.interval(lo, hi)
    return f"{fmt.pct(level, 0)}: {body}" if fmt.finite(level) else body


def _comparison(entry: Comparison) -> str:
    """'lora-r8 − full-ft' from the compared variants."""
    return f"{entry.treatment} − {entry.reference}"


def _test_row(
    task: str, comparison: str, key: str, r: Entry | NotComputed, unit: MetricReading | None
) -> tuple[str, ...]:
    """One table row: a test, an effect size, McNemar of a seed pair, or why it is missing;
    `unit`: the metric its estimate is a difference in (None: not a difference of scores)."""
    if isinstance(r, NotComputed):
        return (task, comparison, key, "not computed", r.not_computed, "—", "—")
    name = r.name if isinstance(r, EffectSize) else r.test
    if isinstance(r, McNemar):
        name = f"{name}, {key.split(', ', 1)[-1]}"
    if isinstance(r, CrossedTest):
        name = f"{name}, {unit.label if unit else 'score'}"
    p = "—" if isinstance(r, EffectSize) else fmt.pvalue(r.p_value)
    return (task, comparison, name, _estimate(r, unit), _ci(r, unit), p, "—")


def _test_rows(results: Results, entry: Comparison) -> list[tuple[str, ...]]:
    """The rows of one comparison: Welch, Mann-Whitney, Hedges' g, the crossed per-example
    test of the primary metric, McNemar per seed pair."""
    task, comparison, metric = entry.task, _comparison(entry), results.metric(entry.metric)
    named = [  # (row, result, the metric its estimate is a difference in)
        ("welch", entry.welch, metric),
        ("mann whitney", entry.mann_whitney, None),  # P(a > b)
        ("hedges g", entry.hedges_g, None),  # standardized
        (f"per-example {metric.label}, examples x runs", entry.per_example, metric),
    ]
    named += [
        (f"McNemar, seed pair {i}", r, CORRECT)
        for i, r in enumerate(entry.mcnemar_per_seed_pair, 1)
    ]
    return [_test_row(task, comparison, key, r, unit) for key, r, unit in named]


def tests_table(results: Results) -> Table | None:
    """Every test in statistics.accuracy: task, comparison, test, estimate, CI, p."""
    rows = [row for entry in results.statistics.accuracy for row in _test_rows(results, entry)]
    if not rows:
        return None
    columns = ("Task", "Comparison", "Test / effect size", "Estimate", "CI", "p", "p (adjusted)")
    note = (
        "Unit of replication: the training seed. Welch, Mann-Whitney and Hedges' g treat the "
        "two methods' runs as independent; the crossed test compares the primary metric over "
        "both runs and test examples (its interval generalises to new seeds and new examples), "
        "paired by seed where both methods have the same seeds (runs of one seed share data "
        "order and head initialisation), as its name says. McNemar rows describe how "
        "two particular models of one seed index (same head initialisation and data order) "
        "disagree on test examples: a description, not a test of the methods, and not "
        "corrected."
    )
    metrics = {t: results.metric(m) for t, m in ex.metric_names(results, ex.tasks(results)).items()}
    title = f"Comparisons across seeds ({fmt.metrics_title(metrics)})" if metrics else "Comparisons"
    return Table("tests", title, columns, tuple(rows), "lllrrrr", note)


def anova_tables(results: Results) -> list[Table]:
    """The two-way ANOVAs (method x task), one per primary metric, with partial eta squared."""
    anovas = results.statistics.anova.items()
    return [t for m, a in anovas if (t := anova_table(m, results.metric(m), a)) is not None]


def anova_table(metric: str, reading: MetricReading, anova: Anova | NotComputed) -> Table | None:
    """One metric's two-way ANOVA (method x task) with partial eta squared, if computed."""
    if not isinstance(anova, Anova) or not anova.rows:
        return None
    rows = tuple(
        (
            r.term,
            fmt.number(r.df),
            fmt.number(r.f_value),
            fmt.pvalue(r.p_value),
            fmt.fixed(r.partial_eta_sq),
        )
        for r in anova.rows
    )
    factors = " x ".join(anova.factors)
    listed = "; ".join(f"{k}: {', '.join(v)}" for k, v in anova.levels.items())
    note = (
        f"Type II two-way ANOVA of {anova.response} on {factors}, "
        f"{fmt.integer(anova.n_obs)} runs" + (f" ({listed})." if listed else ".")
    )
    columns = ("Term", "df", "F", "p", "Partial η²")
    title = f"Two-way ANOVA of {reading.label}"
    return Table(f"anova-{metric}", title, columns, rows, "lrrrr", note)


def _power_row(entry: Comparison) -> tuple[str, ...]:
    """Seeds per group of one comparison, or why they were not computed."""
    r = entry.power
    if isinstance(r, NotComputed):
        return (entry.task, _comparison(entry), fmt.NA, fmt.NA, fmt.NA, r.not_computed)
    return (
        entry.task,
        _comparison(entry),
        fmt.number(r.effect_size),
        fmt.pct(r.power, 0),
        fmt.integer(r.n_per_group),
        r.note,
    )


def power_table(results: Results) -> Table | None:
    """Seeds per group needed to detect the observed effects."""
    rows = tuple(_power_row(entry) for entry in results.statistics.accuracy)
    if not rows:
        return None
    columns = ("Task", "Comparison", "Margin / SD", "Power", "Seeds per group", "Note")
    note = (
        "Planning: the seeds per group a one-sided non-inferiority test at the margin would need "
        "if the two methods were truly equal, with the SD observed here. It says how large the "
        "next study should be, not how likely this one's result is."
    )
    return Table("power", "Seeds to plan for", columns, rows, "llrrrl", note)


def _value_text(val: Any) -> str:
    """A config value as text: lists joined by commas."""
    return ", ".join(map(str, val)) if isinstance(val, list) else str(val)


def _setting(v: VariantSettings, sec: str, key: str) -> str:
    """One variant's value of a setting as its runs trained (the learning rate: the rates its
    runs trained at, tuned values included)."""
    if (sec, key) == ("training", "learning_rate") and v.learning_rates:
        return ", ".join(f"{r:g}" for r in v.learning_rates)
    return _value_text(getattr(getattr(v.config, sec), key))


def _per_method(results: Results, sec: str, key: str, default: Any) -> str | None:
    """One setting as the study's methods trained with it: one value, or `method: value` per
    method (from decisions.variants); LoRA keys are left out for methods that train no adapter,
    and None is returned when no method uses the key."""
    variants = results.decisions.variants
    values = {
        name: _setting(v, sec, key)
        for name, v in variants.items()
        if sec != "lora" or v.trains_adapter
    }
    if len(set(values.values())) > 1:
        return "; ".join(f"{name}: {val}" for name, val in values.items())
    if values:
        return next(iter(values.values()))
    return None if variants else _value_text(default)


BUDGET = {
    ("model", "max_length"): "Max sequence length (tokens)",
    ("task", "max_train"): "Training examples per task (max)",
    ("task", "max_val"): "Validation examples (max)",
    ("task", "max_test"): "Test examples (max)",
    ("training", "max_steps"): "Training steps (max; −1 = epochs)",
    ("training", "epochs"): "Epochs",
    ("training", "batch_size"): "Batch size",
    ("training", "learning_rate"): "Learning rate",
    ("lora", "rank"): "LoRA rank",
    ("lora", "alpha"): "LoRA alpha",
    ("lora", "targets"): "LoRA target modules",
    ("probing", "max_examples"): "Probe examples",
    ("probing", "snapshot_every"): "Snapshot every (steps)",
    ("serving", "repeats"): "Serving repeats per measurement",
}


def _budget(results: Results) -> list[tuple[str, str]]:
    """Budget lines from the resolved config (the keys that are set), per method where the
    study's variants trained with them differently."""
    out = []
    for (sec, key), label in BUDGET.items():
        val = getattr(getattr(results.study.config, sec), key)
        text = _per_method(results, sec, key, val) if val is not None else None
        if text is not None:
            out.append((label, text))
    return out


def _steps_taken(results: Results) -> list[tuple[str, str]]:
    """The optimizer steps the runs took (what `max_steps = -1` came to), per method if they
    differ, as a range if seeds differ (early stopping)."""
    taken: dict[str, list[int]] = {}
    for r in results.runs:
        taken.setdefault(r.method, []).append(r.steps)
    texts = {m: f"{min(s)}" if min(s) == max(s) else f"{min(s)}–{max(s)}" for m, s in taken.items()}
    if not texts:
        return []
    if len(set(texts.values())) == 1:
        return [("Training steps taken", next(iter(texts.values())))]
    return [("Training steps taken", "; ".join(f"{m}: {t}" for m, t in texts.items()))]


def _tuned(results: Results) -> list[tuple[str, str]]:
    """One line per task x variant whose values a search tuned on val (`hpo.use`)."""
    out = []
    for t in results.tuning:
        values = ", ".join(f"{k} {fmt.number(v)}" for k, v in t.params.items())
        search = f"best val {t.metric} {fmt.number(t.best_val)} of {t.trials} trials"
        out.append((f"Tuned on val: {t.task}, {t.method}", f"{values} ({search})"))
    return out


def setup_table(results: Results) -> Table:
    """Model, tasks, methods, seeds, budgets and timing of the study."""
    st = results.study
    base = {r.method: r.base_method for r in results.runs}
    shown = [f"{m} ({base[m]})" if m in base and base[m] != m else m for m in ex.methods(results)]
    rows = [
        ("Model", st.model or st.config.model.name),
        ("Tasks", ", ".join(ex.tasks(results)) or fmt.NA),
        ("Methods", ", ".join(shown) or fmt.NA),
        ("Seeds", ", ".join(ex.seeds(results)) or fmt.NA),
        ("Runs", str(len(results.runs))),
        *_budget(results),
        *_steps_taken(results),
        *_tuned(results),
        ("Started", st.started or fmt.NA),
        ("Finished", st.finished or fmt.NA),
        ("Wall time", fmt.duration(st.wall_time_s)),
    ]
    return Table("setup", "", ("Setting", "Value"), tuple(rows), "ll", pairs=True)


def _flatten(prefix: str, value: Any) -> list[tuple[str, str]]:
    """Nested mappings as ('a.b', 'value') pairs; lists joined by commas."""
    if isinstance(value, Mapping):
        return [pair for k, v in value.items() for pair in _flatten(f"{prefix}{k}.", v)]
    if isinstance(value, list):
        value = ", ".join(map(str, value)) or "—"
    return [(prefix.rstrip("."), str(value))]


def environment_table(results: Results) -> Table | None:
    """The environment fingerprint (`loralens doctor --json`), flattened."""
    env = results.study.environment
    if not env:
        return None
    rows = tuple(_flatten("", env))
    return Table("environment", "", ("Item", "Value"), rows, "ll", pairs=True)
