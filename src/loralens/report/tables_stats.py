"""Tables of the setup, the environment and the statistics section (tests, ANOVA, power)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loralens.report import extract as ex
from loralens.report import fmt
from loralens.report.document import Table


def _estimate(r: Mapping[str, Any]) -> str:
    """A test's estimate: percentage points for accuracy differences, else a plain number."""
    label, test = str(r.get("estimate_label", "")), str(r.get("test", ""))
    x = r.get("estimate")
    if (" - " in label or test.startswith("McNemar")) and fmt.finite(x):
        return fmt.points(x)
    return fmt.number(x)


def _ci(r: Mapping[str, Any]) -> str:
    """'95%: [−1.7, +0.2] pp' style interval of a test or effect size."""
    lo, hi, level = r.get("ci_low"), r.get("ci_high"), r.get("confidence_level")
    if not (fmt.finite(lo) or fmt.finite(hi)):
        return fmt.NA
    pts = " - " in str(r.get("estimate_label", "")) or str(r.get("test", "")).startswith("McNemar")
    if pts:
        body = fmt.minus(f"[{100 * fmt.num(lo):+.1f}, {100 * fmt.num(hi):+.1f}] pp")
    else:
        body = fmt.interval(lo, hi)
    return f"{fmt.pct(level, 0)}: {body}" if fmt.finite(level) else body


def _comparison(entry: Mapping[str, Any]) -> str:
    """'lora-r8 − full-ft' from `comparison`, or from the `lora` and `full` method names."""
    if entry.get("comparison"):
        return str(entry["comparison"])
    lora, full = entry.get("lora"), entry.get("full")
    return f"{lora} − {full}" if lora and full else ""


def _test_rows(task: str, comparison: str, key: str, r: Any) -> list[tuple[str, ...]]:
    """Table rows of one entry value: a test, an effect size, McNemar per seed pair, an error."""
    if isinstance(r, list):
        return [
            row
            for i, x in enumerate(r, 1)
            for row in _test_rows(task, comparison, f"{key.replace('_', ' ')} {i}", x)
        ]
    if not isinstance(r, Mapping):
        return []
    if key.startswith("mcnemar"):
        key = f"McNemar, seed pair {key.rsplit(' ', 1)[-1]}"
    if "not_computed" in r and "estimate" not in r:
        why = str(r["not_computed"])
        return [(task, comparison, key.replace("_", " "), "not computed", why, "—", "—")]
    if "estimate" not in r:
        return []
    name = str(r.get("test") or r.get("name") or key)
    if key.startswith("McNemar"):
        name = f"{name}, {key.split(', ', 1)[-1]}"
    p = fmt.pvalue(r.get("p_value")) if "p_value" in r else "—"
    adj = fmt.pvalue(r.get("p_holm")) if "p_holm" in r else "—"
    return [(task, comparison, name, _estimate(r), _ci(r), p, adj)]


def tests_table(results: Mapping[str, Any]) -> Table | None:
    """Every test in statistics.accuracy: task, comparison, test, estimate, CI, p."""
    rows = []
    for entry in ex.records(results, "statistics", "accuracy"):
        task, comparison = str(entry.get("task", "")), _comparison(entry)
        for key, r in entry.items():
            if key != "power":
                rows += _test_rows(task, comparison, key, r)
    if not rows:
        return None
    columns = ("Task", "Comparison", "Test / effect size", "Estimate", "CI", "p", "p (adjusted)")
    note = (
        "Unit of replication: the training seed (independent runs, never paired across "
        "methods). McNemar rows describe how two particular models of one seed index (same "
        "head initialisation and data order) disagree on test examples: a description, not a "
        "test of the methods, and not corrected."
    )
    metrics = ex.metric_names(results, ex.tasks(results))
    title = f"Comparisons across seeds ({fmt.metrics_title(metrics)})" if metrics else "Comparisons"
    return Table("tests", title, columns, tuple(rows), "lllrrrr", note)


def anova_table(results: Mapping[str, Any]) -> Table | None:
    """The two-way ANOVA (method x task) with partial eta squared."""
    stats = results.get("statistics")
    anova = stats.get("anova") if isinstance(stats, Mapping) else None
    if not isinstance(anova, Mapping) or not anova.get("rows"):
        return None
    rows = tuple(
        (
            str(r.get("term")),
            fmt.number(r.get("df")),
            fmt.number(r.get("f_value")),
            fmt.pvalue(r.get("p_value")),
            fmt.fixed(r.get("partial_eta_sq")),
        )
        for r in anova["rows"]
        if isinstance(r, Mapping)
    )
    factors = " x ".join(str(f) for f in anova.get("factors") or ())
    levels = anova.get("levels") if isinstance(anova.get("levels"), Mapping) else {}
    listed = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in levels.items())
    note = (
        f"Type II two-way ANOVA of {anova.get('response', 'score')} on {factors}, "
        f"{fmt.integer(anova.get('n_obs'))} runs" + (f" ({listed})." if listed else ".")
    )
    columns = ("Term", "df", "F", "p", "Partial η²")
    return Table("anova", "Two-way ANOVA", columns, rows, "lrrrr", note)


def _power_records(results: Mapping[str, Any]) -> list[tuple[dict, Mapping[str, Any]]]:
    """(comparison entry, power result) from statistics.power or each accuracy entry."""
    out = [(r, r) for r in ex.records(results, "statistics", "power")]
    for entry in ex.records(results, "statistics", "accuracy"):
        if isinstance(entry.get("power"), Mapping):
            out.append((entry, entry["power"]))
    return out


def power_table(results: Mapping[str, Any]) -> Table | None:
    """Seeds per group needed to detect the observed effects."""
    rows = tuple(
        (
            str(entry.get("task", "")),
            _comparison(entry),
            fmt.number(r.get("effect_size")),
            fmt.pct(r.get("power"), 0),
            fmt.integer(r.get("n_per_group")),
            str(r.get("note") or r.get("not_computed") or ""),
        )
        for entry, r in _power_records(results)
    )
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


def _per_method(config: Mapping[str, Any], sec: str, key: str, default: Any) -> str | None:
    """One setting as the study's methods see it: one value, or `method: value` per method.

    A variant in study.variants may override any key; LoRA keys are left out for methods that
    train without LoRA (full fine-tuning), and None is returned when no method uses the key.
    """
    study = config.get("study") if isinstance(config.get("study"), Mapping) else {}
    variants = study.get("variants") if isinstance(study.get("variants"), Mapping) else {}
    values: dict[str, str] = {}
    for name in study.get("methods") or []:
        spec = variants.get(name) if isinstance(variants.get(name), Mapping) else {}
        if sec == "lora" and spec.get("method", config.get("method")) == "full":
            continue
        section = spec.get(sec) if isinstance(spec.get(sec), Mapping) else {}
        values[str(name)] = _value_text(section.get(key, default))
    if len(set(values.values())) > 1:
        return "; ".join(f"{name}: {val}" for name, val in values.items())
    if values:
        return next(iter(values.values()))
    return None if study.get("methods") else _value_text(default)


def _budget(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Budget lines from the resolved config (only the keys that are present), per method where
    the study's variants set them differently."""
    wanted = {
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
    out = []
    for (sec, key), label in wanted.items():
        val = (config.get(sec) or {}).get(key) if isinstance(config.get(sec), Mapping) else None
        text = _per_method(config, sec, key, val) if val is not None else None
        if text is not None:
            out.append((label, text))
    return out


def setup_table(results: Mapping[str, Any]) -> Table:
    """Model, tasks, methods, seeds, budgets and timing of the study."""
    st = ex.study(results)
    config = st.get("config") if isinstance(st.get("config"), Mapping) else {}
    methods = ex.methods(results)
    base = {str(r.get("method")): r.get("base_method") for r in ex.records(results, "runs")}
    shown = [f"{m} ({base[m]})" if base.get(m) and base[m] != m else m for m in methods]
    rows = [
        ("Model", str(st.get("model") or (config.get("model") or {}).get("name") or fmt.NA)),
        ("Tasks", ", ".join(ex.tasks(results)) or fmt.NA),
        ("Methods", ", ".join(shown) or fmt.NA),
        ("Seeds", ", ".join(ex.seeds(results)) or fmt.NA),
        ("Runs", str(len(ex.records(results, "runs")))),
        *_budget(config),
        ("Started", str(st.get("started") or fmt.NA)),
        ("Finished", str(st.get("finished") or fmt.NA)),
        ("Wall time", fmt.duration(st.get("wall_time_s"))),
    ]
    return Table("setup", "", ("Setting", "Value"), tuple(rows), "ll", pairs=True)


def _flatten(prefix: str, value: Any) -> list[tuple[str, str]]:
    """Nested mappings as ('a.b', 'value') pairs; lists joined by commas."""
    if isinstance(value, Mapping):
        return [pair for k, v in value.items() for pair in _flatten(f"{prefix}{k}.", v)]
    if isinstance(value, list):
        value = ", ".join(map(str, value)) or "—"
    return [(prefix.rstrip("."), str(value))]


def environment_table(results: Mapping[str, Any]) -> Table | None:
    """The environment fingerprint (`loralens doctor --json`), flattened."""
    env = ex.study(results).get("environment")
    if not isinstance(env, Mapping) or not env:
        return None
    rows = tuple(_flatten("", env))
    return Table("environment", "", ("Item", "Value"), rows, "ll", pairs=True)
