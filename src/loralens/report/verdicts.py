"""Hypothesis verdicts (`Verdict.to_dict()` records) as cards, table rows and short phrases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loralens.report import fmt
from loralens.report.document import Table, VerdictCard

STATUSES = ("supported", "not supported", "inconclusive")
SYMBOLS = {"supported": "✓", "not supported": "✗", "inconclusive": "?"}


def verdicts(results: Mapping[str, Any]) -> list[dict]:
    """The verdict records, in file order (the combined one last)."""
    return [v for v in results.get("hypotheses") or [] if isinstance(v, Mapping)]


def status(v: Mapping[str, Any]) -> str:
    """The verdict's status, 'inconclusive' when unknown."""
    s = str(v.get("status", "")).lower()
    return s if s in STATUSES else "inconclusive"


def _kind(v: Mapping[str, Any]) -> str:
    """'accuracy' (performance), 'drift', 'serving' or 'other', from the verdict's name."""
    word = str(v.get("name", "")).split(" ")[0].lower()
    word = "accuracy" if word == "performance" else word  # older results say "Accuracy"
    return word if word in ("accuracy", "drift", "serving") else "other"


def value(v: Mapping[str, Any], x: Any, sign: bool = False) -> str:
    """A number of this verdict in its unit: points for accuracy, percent for drift/serving."""
    kind = _kind(v)
    if not fmt.finite(x):
        return fmt.NA
    if kind == "accuracy":
        return fmt.points(x)
    if kind in ("drift", "serving"):
        return fmt.pct(x, sign=sign or kind == "serving")
    return fmt.number(x)


def ci_level(v: Mapping[str, Any]) -> str:
    """'90% CI': the level the analysis recorded (older results: 1 − 2·alpha)."""
    level = fmt.num(v.get("confidence_level"))
    if not fmt.finite(level) and fmt.finite(v.get("alpha")):
        level = 1 - 2 * fmt.num(v.get("alpha"))
    return f"{100 * level:.0f}% CI" if fmt.finite(level) else "CI"


def ci(v: Mapping[str, Any]) -> str:
    """The verdict's CI in its unit: '[−1.5, +0.0] pp', '[55.3%, 56.7%]'."""
    lo, hi = v.get("ci_low"), v.get("ci_high")
    if not (fmt.finite(lo) or fmt.finite(hi)):
        return fmt.NA
    low, high = value(v, lo), value(v, hi)
    if _kind(v) == "accuracy":
        return f"[{low.removesuffix(' pp')}, {high.removesuffix(' pp')}] pp"
    return f"[{low}, {high}]"


def threshold(v: Mapping[str, Any]) -> str:
    """The threshold the estimate is held to: '≥ −3.0 pp', '≥ 20.0%', '≤ +30.0%'."""
    t = v.get("threshold")
    if not fmt.finite(t):
        return fmt.NA
    return ("≤ " if _kind(v) == "serving" else "≥ ") + value(v, t)


def seeds(v: Mapping[str, Any]) -> str:
    """'3 lora vs 3 full'."""
    n = v.get("n_seeds") or {}
    return " vs ".join(f"{fmt.integer(k)} {name}" for name, k in n.items()) or fmt.NA


def facts(v: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Labelled numbers of one verdict, in reading order (no empty estimate of a combination)."""
    out = (
        ("Estimate", value(v, v.get("estimate"))),
        (ci_level(v), ci(v)),
        ("Threshold", threshold(v)),
        ("Test", str(v.get("test") or fmt.NA)),
        ("p", fmt.pvalue(v.get("p_value"))),
        ("p (Holm-adjusted)", fmt.pvalue(v.get("p_adjusted"))),
        ("n", seeds(v)),
    )
    if v.get("components") and not fmt.finite(v.get("estimate")):
        out = out[3:]
    return out


def _key(v: Mapping[str, Any]) -> tuple[Any, Any]:
    """What identifies a verdict record: its name and sentence."""
    return v.get("name"), v.get("sentence")


def groups(results: Mapping[str, Any]) -> list[tuple[dict, list[dict]]]:
    """(verdict, its parts): combined verdicts (one per task, or one) first, with components.

    Parts listed both on their own and inside a combined verdict appear once, inside it.
    """
    records = verdicts(results)
    combined = [v for v in records if v.get("components")]
    nested = {_key(c) for v in combined for c in v["components"] if isinstance(c, Mapping)}
    out = [(v, [c for c in v["components"] if isinstance(c, Mapping)]) for v in combined]
    out += [(v, []) for v in records if not v.get("components") and _key(v) not in nested]
    return out


def task_of(v: Mapping[str, Any], parent: Mapping[str, Any] | None = None) -> str:
    """The task and comparison a verdict is about: 'sst2 · lora-r8 vs full-ft' ('' if unknown)."""
    parent = parent or {}
    task = str(v.get("task") or parent.get("task") or "")
    pair = v if v.get("treatment") else parent
    if pair.get("treatment") and pair.get("reference"):
        vs = f"{pair['treatment']} vs {pair['reference']}"
        return f"{task} · {vs}" if task else vs
    return task


def short_name(v: Mapping[str, Any]) -> str:
    """'Overall' for a combined verdict, else the first word of its name ('Drift')."""
    name = str(v.get("name", "hypothesis"))
    return "Overall" if v.get("components") or name.startswith("H:") else name.split(" ")[0]


def _titled(label: str, task: str) -> str:
    """'Drift · sst2' (the label alone without a task)."""
    return f"{label} · {task}" if task else label


def card(v: Mapping[str, Any], parts: list[dict] | None = None) -> VerdictCard:
    """A verdict as a card (its task in the title), its parts as nested cards."""
    task = task_of(v)
    nested = tuple(card({**c, "task": task_of(c, v)}) for c in parts or [])
    name = _titled(str(v.get("name", "hypothesis")), task)
    return VerdictCard(name, status(v), facts(v), str(v.get("sentence") or ""), nested)  # type: ignore[arg-type]


def cards(results: Mapping[str, Any]) -> list[VerdictCard]:
    """One card per combined verdict (parts nested), then any standalone verdicts."""
    return [card(v, parts) for v, parts in groups(results)]


def chips(results: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """(label, status) of every verdict at a glance: overall first, then its parts."""
    out = []
    for v, parts in groups(results):
        out.append((_titled(short_name(v), task_of(v)), status(v)))
        out += [(_titled(short_name(c), task_of(c, v)), status(c)) for c in parts]
    return tuple(out)


def _row(v: Mapping[str, Any], task: str) -> tuple[str, ...]:
    """One verdict as a row of the hypotheses table."""
    return (
        task or "—",
        str(v.get("name", "")),
        value(v, v.get("estimate")),
        f"{ci(v)} ({ci_level(v).removesuffix(' CI')})" if fmt.finite(v.get("ci_low")) else ci(v),
        threshold(v),
        str(v.get("test") or fmt.NA),
        fmt.pvalue(v.get("p_value")),
        fmt.pvalue(v.get("p_adjusted")),
        seeds(v),
        f"{SYMBOLS[status(v)]} {status(v)}",
    )


def hypotheses_table(results: Mapping[str, Any]) -> Table | None:
    """Every verdict and part as one row: estimate, CI, threshold, test, p, adjusted p, n."""
    rows = []
    for v, parts in groups(results):
        rows.append(_row(v, task_of(v)))
        rows += [_row(c, task_of(c, v)) for c in parts]
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
    return Table("hypotheses", "Hypotheses and verdicts", columns, tuple(rows), "llrrrlrrll", note)


PHRASES = {
    "accuracy": "primary metric of LoRA − full",
    "drift": "drift reduction",
    "serving": "two-adapter serving overhead",
}


def phrase(v: Mapping[str, Any]) -> str:
    """'drift reduction 56.0% (90% CI [55.3%, 56.7%]; needs ≥ 20.0%): supported'."""
    what = PHRASES.get(_kind(v))
    if what is None or not fmt.finite(v.get("estimate")):
        return f"{v.get('name', 'hypothesis')}: {status(v)}"
    return (
        f"{what} {value(v, v.get('estimate'))} ({ci_level(v)} {ci(v)}; "
        f"needs {threshold(v)}): {status(v)}"
    )
