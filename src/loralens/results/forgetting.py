"""The `forgetting` block of results.json: each run against the base model on probes no run
trained on, and the across-seed test of each compared pair (pure, from the stages' records)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from loralens.stats.corrections import holm
from loralens.stats.effect_size import hedges_g
from loralens.stats.seeds import welch_t_test

TEXT_MEASURE = "text_nll"  # forgetting of language: run NLL minus base NLL on the general text


def forgetting_rows(entries: list, base: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Per run: every probe's value, the base's, and the change (run minus base)."""
    if base is None:
        return []
    rows = []
    for (task, method, seed), data, artifact in entries:
        probes = []
        if data.get("text") and base.get("text"):
            run_v, base_v = data["text"]["nll"], base["text"]["nll"]
            probes.append(_probe(TEXT_MEASURE, data["text"]["task"], run_v, base_v, "nll"))
        base_tasks = {t["task"]: t for t in base.get("tasks") or []}
        for t in data.get("tasks") or []:
            run_v, base_v = t["accuracy"], base_tasks[t["task"]]["accuracy"]
            probes.append(_probe(f"zero_shot:{t['task']}", t["task"], run_v, base_v, "accuracy"))
        ident = {"task": task, "method": method, "seed": int(seed), "artifact": artifact}
        rows.append({**ident, "probes": probes})
    return rows


def _probe(measure: str, on: str, value: float, base: float, metric: str) -> dict[str, Any]:
    """One probe of one run: its value, the base's, and the change."""
    return {
        "measure": measure,
        "on": on,
        "metric": metric,
        "value": value,
        "base": base,
        "change": value - base,
    }


def forgetting_tests(
    rows: list[dict], pairs: list[tuple[str, str]], alpha: float
) -> list[dict[str, Any]]:
    """Per task, compared pair and probe: Welch across seeds on the change, Hedges' g; Holm over
    the probes of one task and pair (two-sided: either method may forget more)."""
    by: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for r in rows:
        for p in r["probes"]:
            by[(r["task"], r["method"], p["measure"])].append(p["change"])
    out = []
    for task in dict.fromkeys(r["task"] for r in rows):
        for treatment, reference in pairs:
            measures = [m for (t, v, m) in by if t == task and v == treatment]
            family = []
            for measure in measures:
                a, b = by[(task, treatment, measure)], by.get((task, reference, measure), [])
                family.append(_test(task, treatment, reference, measure, a, b, alpha))
            _holm(family, alpha)
            out += family
    return out


def _test(task, treatment, reference, measure, a, b, alpha: float) -> dict[str, Any]:
    """One probe's comparison of two variants' changes across seeds."""
    entry = {
        "task": task,
        "treatment": treatment,
        "reference": reference,
        "measure": measure,
        "treatment_values": list(a),
        "reference_values": list(b),
        "treatment_mean": float(np.mean(a)) if a else None,
        "reference_mean": float(np.mean(b)) if b else None,
    }
    try:
        entry["welch"] = welch_t_test(a, b, confidence_level=1 - alpha).to_dict()
        entry["hedges_g"] = hedges_g(a, b, confidence_level=1 - alpha).to_dict()
    except ValueError as exc:  # too few seeds, no variation
        entry["not_computed"] = str(exc)
    return entry


def _holm(family: list[dict], alpha: float) -> None:
    """Holm-adjusted p-values over one family of tests, in place."""
    tested = [e for e in family if "welch" in e]
    if not tested:
        return
    p_values = [e["welch"]["p_value"] for e in tested]
    # a family of one needs no adjustment (statsmodels' call costs a garbage collection)
    adjusted = holm(p_values, alpha=alpha).p_adjusted if len(tested) > 1 else p_values
    for e, p in zip(tested, adjusted, strict=True):
        e["p_adjusted"] = float(p)
        e["significant"] = bool(p < alpha)
