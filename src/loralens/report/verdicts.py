"""Hypothesis verdicts (`Verdict.to_dict()` records) as cards, table rows and short phrases."""

from __future__ import annotations

from typing import Any

from loralens.report import fmt
from loralens.report.document import Table, VerdictCard
from loralens.results.schema import Results, Verdict
from loralens.results.schema_stats import ServingVerdict

STATUSES = ("supported", "not supported", "inconclusive", "not applicable")
SYMBOLS = {"supported": "✓", "not supported": "✗", "inconclusive": "?", "not applicable": "⊘"}


def verdicts(results: Results) -> list[Verdict]:
    """The verdict records, in file order (the combined one last)."""
    return list(results.hypotheses)


def status(v: Verdict) -> str:
    """The verdict's status."""
    return v.status


def flag(v: Verdict) -> str:
    """' Flag: full-ft's mean test score is below zero-shot.' ('' when no variant is)."""
    if not v.below_zero_shot:
        return ""
    whose = fmt.listing([f"{m}'s" for m in v.below_zero_shot])
    score = "score is" if len(v.below_zero_shot) == 1 else "scores are"
    return f" Flag: {whose} mean test {score} below the zero-shot baseline."


def _kind(v: Verdict) -> str:
    """'accuracy' (performance), 'drift', 'serving' or 'other': the part the analysis says the
    verdict is."""
    if v.part in ("drift", "serving"):
        return v.part
    return "accuracy" if v.part == "performance" else "other"


def in_points(v: Verdict) -> bool:
    """Whether a performance verdict's numbers are fractions shown in percentage points (its
    metric a percent metric, its differences in points; a part of no metric: yes)."""
    return not v.metric or v.metric_unit == "points"


def value(v: Verdict, x: Any, sign: bool = False) -> str:
    """A number of this verdict in its unit: points for accuracy, percent for drift/serving."""
    kind = _kind(v)
    if not fmt.finite(x):
        return fmt.NA
    if kind == "accuracy" and in_points(v):
        return fmt.points(x)
    if kind == "accuracy":
        return f"{fmt.number(x)} {v.metric_unit}".strip()
    if kind in ("drift", "serving"):
        return fmt.pct(x, sign=sign or kind == "serving")
    return fmt.number(x)


def ci_level(v: Verdict) -> str:
    """'90% CI': the level the analysis recorded."""
    level = fmt.num(v.confidence_level)
    return f"{100 * level:.0f}% CI" if fmt.finite(level) else "CI"


def ci(v: Verdict) -> str:
    """The verdict's CI in its unit: '[−1.5, +0.0] pp', '[55.3%, 56.7%]'."""
    lo, hi = v.ci_low, v.ci_high
    if not (fmt.finite(lo) or fmt.finite(hi)):
        return fmt.NA
    low, high = value(v, lo), value(v, hi)
    if _kind(v) == "accuracy" and in_points(v):
        return f"[{low.removesuffix(' pp')}, {high.removesuffix(' pp')}] pp"
    return f"[{low}, {high}]"


def threshold(v: Verdict) -> str:
    """The threshold the estimate is held to: '≥ −3.0 pp', '≥ 20.0%', '≤ +30.0%'."""
    t = v.threshold
    if not fmt.finite(t):
        return fmt.NA
    return ("≤ " if _kind(v) == "serving" else "≥ ") + value(v, t)


def seeds(v: Verdict) -> str:
    """'3 lora vs 3 full'."""
    return " vs ".join(f"{fmt.integer(k)} {name}" for name, k in v.n_seeds.items()) or fmt.NA


def facts(v: Verdict) -> tuple[tuple[str, str], ...]:
    """Labelled numbers of one verdict, in reading order (no empty estimate of a combination)."""
    out = (
        ("Estimate", value(v, v.estimate)),
        (ci_level(v), ci(v)),
        ("Threshold", threshold(v)),
        ("Test", v.test or fmt.NA),
        ("p", fmt.pvalue(v.p_value)),
        ("p (adjusted)", fmt.pvalue(v.p_adjusted)),
        ("n", seeds(v)),
    )
    if v.components and not fmt.finite(v.estimate):
        out = out[3:]
    if v.below_zero_shot:
        out += (("Below zero-shot", ", ".join(v.below_zero_shot)),)
    return out


def _key(v: Verdict) -> tuple[str, str]:
    """What identifies a verdict record: its name and sentence."""
    return v.name, v.sentence


def groups(results: Results) -> list[tuple[Verdict, list[Verdict]]]:
    """(verdict, its parts): combined verdicts (one per task, or one) first, with components,
    then the study-level serving verdicts (one per serving group).

    Parts listed both on their own and inside a combined verdict appear once, inside it.
    """
    records = verdicts(results)
    combined = [v for v in records if v.components]
    nested = {_key(c) for v in combined for c in v.components}
    out = [(v, list(v.components)) for v in combined]
    out += [(v, []) for v in records if not v.components and _key(v) not in nested]
    return out + [(v, []) for v in results.serving_verdicts]


def task_of(v: Verdict, parent: Verdict | None = None) -> str:
    """The task and comparison a verdict is about: 'sst2 · lora-r8 vs full-ft' ('' if unknown);
    'study level: mrpc, sst2' for a serving group's verdict (the tasks it speaks for, if any)."""
    if isinstance(v, ServingVerdict):
        return f"study level: {', '.join(v.speaks_for or v.tasks)}"
    task = v.task or (parent.task if parent is not None else None) or ""
    pair = v if v.treatment or parent is None else parent
    if pair.treatment and pair.reference:
        vs = f"{pair.treatment} vs {pair.reference}"
        return f"{task} · {vs}" if task else vs
    return task


def short_name(v: Verdict, parent: Verdict | None = None) -> str:
    """'Overall' for a combined verdict, else the first word of its name ('Drift'); a serving
    verdict with its role and level ('Serving (alone, α = 0.05)')."""
    if v.components or v.part == "hypothesis":
        return "Overall"
    parts = ("performance", "drift", "serving")
    word = v.part.capitalize() if v.part in parts else v.name.split(" ")[0]
    why = role(v, parent)
    return f"{word} ({why})" if why else word


def role(v: Verdict, parent: Verdict | None = None) -> str:
    """A serving verdict's role and level: 'inside H, α/2 = 0.025' (part C of a combined
    verdict) or 'alone, α = 0.05' (the study-level verdict); '' for other verdicts."""
    if _kind(v) != "serving":
        return ""
    if parent is not None or (v.adjustment and not isinstance(v, ServingVerdict)):
        return f"inside H, α/2 = {v.alpha / 2:g}"
    return f"alone, α = {v.alpha:g}"


def full_name(v: Verdict, parent: Verdict | None = None) -> str:
    """The verdict's name, with its role and level for a serving verdict."""
    why = role(v, parent)
    return f"{v.name} — {why}" if why else v.name


def _titled(label: str, task: str) -> str:
    """'Drift · sst2' (the label alone without a task)."""
    return f"{label} · {task}" if task else label


def card(
    v: Verdict,
    parts: list[Verdict] | None = None,
    task: str | None = None,
    parent: Verdict | None = None,
) -> VerdictCard:
    """A verdict as a card (its task in the title), its parts as nested cards."""
    task = task_of(v) if task is None else task
    nested = tuple(card(c, task=task_of(c, v), parent=v) for c in parts or [])
    title = _titled(full_name(v, parent), task)
    return VerdictCard(title, v.status, facts(v), v.sentence, nested)


def cards(results: Results) -> list[VerdictCard]:
    """One card per combined verdict (parts nested), then any standalone verdicts."""
    return [card(v, parts) for v, parts in groups(results)]


def chips(results: Results) -> tuple[tuple[str, str], ...]:
    """(label, status) of every verdict at a glance: overall first, then its parts."""
    out = []
    for v, parts in groups(results):
        out.append((_titled(short_name(v), task_of(v)), status(v)))
        out += [(_titled(short_name(c, v), task_of(c, v)), status(c)) for c in parts]
    return tuple(out)


def _row(v: Verdict, task: str, parent: Verdict | None = None) -> tuple[str, ...]:
    """One verdict as a row of the hypotheses table."""
    return (
        task or "—",
        full_name(v, parent),
        value(v, v.estimate),
        f"{ci(v)} ({ci_level(v).removesuffix(' CI')})" if fmt.finite(v.ci_low) else ci(v),
        threshold(v),
        v.test or fmt.NA,
        fmt.pvalue(v.p_value),
        fmt.pvalue(v.p_adjusted),
        seeds(v),
        f"{SYMBOLS[v.status]} {v.status}" + flag(v),
    )


def hypotheses_table(results: Results) -> Table | None:
    """Every verdict and part as one row: estimate, CI, threshold, test, p, adjusted p, n."""
    rows = []
    for v, parts in groups(results):
        rows.append(_row(v, task_of(v)))
        rows += [_row(c, task_of(c, v), v) for c in parts]
    if not rows:
        return None
    columns = (
        "Task",
        "Hypothesis",
        "Estimate",
        "CI",
        "Threshold",
        "Test",
        "p",
        "p (adjusted)",
        "n",
        "Verdict",
    )
    n_tests = sum(1 for _ in groups(results))
    note = (
        "H = performance AND (drift OR serving) is an intersection-union test: performance is "
        "tested at α unadjusted (interval at 1 − 2α); drift and serving, the two sides of the "
        "OR, at α/2 each (Bonferroni, p adjusted = 2p, interval at 1 − α); "
        "H's p = max(p_A, min(2p_B, 2p_C)). "
        f"Each of the {n_tests} verdicts is its own test at α, with no correction across tasks "
        f"or comparisons: the chance of at least one false 'supported' is at most {n_tests}·α."
    )
    if results.serving_verdicts:
        note += (
            " Serving is one study-level measurement per serving group (its own rows, tested "
            "alone at α); every task's H whose adapters it served reads the same timings, so "
            "their serving parts are not independent evidence."
        )
    return Table("hypotheses", "Hypotheses and verdicts", columns, tuple(rows), "llrrrlrrll", note)


PHRASES = {
    "accuracy": "primary metric of {t} − {r}",
    "drift": "drift reduction",
    "serving": "two-adapter serving overhead",
}


def phrase(v: Verdict, pair: tuple[str, str] = ("LoRA", "full")) -> str:
    """'drift reduction 56.0% (90% CI [55.3%, 56.7%]; needs ≥ 20.0%): supported'; `pair`: the
    compared treatment and reference."""
    kind = _kind(v)
    if kind not in PHRASES or not fmt.finite(v.estimate):
        return f"{v.name}: {v.status}"
    t, r = pair
    what = PHRASES[kind].format(t=t, r=r)
    if kind == "accuracy" and v.metric and not v.greater_is_better:
        what = f"{v.metric} of {r} − {t}"  # lower is better: the sign makes > -margin good
    return (
        f"{what} {value(v, v.estimate)} ({ci_level(v)} {ci(v)}; needs {threshold(v)}): {v.status}"
    )
