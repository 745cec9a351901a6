"""The drift section of results.json and the drift decision: which pooling, which measure, and
the training step at which methods are compared (a step every run of the task reached, so a run
that stopped early earns no credit for it)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from loralens.errors import LoralensError
from loralens.metrics.dominance import dominated

MEASURE = "1 - debiased CKA (layer mean)"


def drift_section(entries: list) -> dict[str, list]:
    """Drift rows, controls (once per task) and per-run summaries at every snapshot step.

    Raises when the runs of one task were probed on different probe sets.
    """
    rows, controls, summary, probes = [], [], [], defaultdict(dict)
    for (task, method, seed), data, artifact in entries:
        ident = {"task": task, "method": method, "seed": int(seed)}
        probes[task][f"{method} seed {seed}"] = data.get("probe_sha256")
        rows += [{**ident, **r, "artifact": artifact} for r in data["rows"]]
        if len(probes[task]) == 1:
            controls += [{"task": task, **c, "dominated": dominated(c)} for c in data["controls"]]
        summary += [{**ident, **s} for s in data["summary"]]
    for task, by_run in probes.items():
        if len(set(by_run.values())) > 1:
            listed = ", ".join(f"{run}: {str(sha)[:12]}" for run, sha in by_run.items())
            raise LoralensError(
                f"task {task}: its runs were probed on different probe sets ({listed}); drift "
                "compares one probe set across runs: rerun the runs whose probe set differs"
            )
    return {"rows": rows, "controls": controls, "summary": summary}


def seed_pairs_section(entries: list) -> list[dict]:
    """Seed-to-seed drift rows: per variant, snapshot step and pair of seeds, the layer mean."""
    return [
        {"task": task, "method": variant, "pooling": data["pooling"], **s}
        for (task, variant), data in entries
        for s in data["summary"]
    ]


def seed_reference(
    pairs: list[dict], summary: list[dict], task: str, pooling: str, step: int | None
) -> list[dict]:
    """Per variant of `task` at the compared step: how far its seeds drift apart (mean, lowest
    and highest pair) beside how far they drift from the base (mean over seeds)."""
    if step is None:
        return []
    apart, from_base = defaultdict(list), defaultdict(list)
    for p in pairs:
        if (p["task"], p["pooling"], p["step"]) == (task, pooling, step):
            apart[p["method"]].append(p["mean_drift"])
    for s in summary:
        if (s["task"], s["pooling"], s["step"], s["selected"]) == (task, pooling, step, False):
            from_base[s["method"]].append(s["mean_drift"])
    return [
        {
            "method": method,
            "step": step,
            "pairs": len(values),
            "mean": float(np.mean(values)),
            "low": min(values),
            "high": max(values),
            "from_base": float(np.mean(from_base[method])) if from_base[method] else None,
        }
        for method, values in apart.items()
    ]


def seed_note(reference: list[dict], pair: list[str] | tuple[str, str]) -> list[str]:
    """The drift part's words on the seed-to-seed scale (none when not measured)."""
    by = {r["method"]: r for r in reference if r["from_base"] is not None}
    shown = [
        f"{m} {by[m]['mean']:.5f} between its seeds, {by[m]['from_base']:.5f} from the base"
        for m in pair
        if m in by
    ]
    return [f"seed to seed at step {reference[0]['step']}: {'; '.join(shown)}"] if shown else []


def attach_val_scores(summary: list[dict], runs: list[dict], primary: dict[str, str]) -> None:
    """Set each summary row's `val_score`: the task's selection metric on val at that step (its
    primary metric, or its kind's selection metric, e.g. QA's answer_nll)."""
    from loralens.kinds import selection_metric

    scores = {}
    for r in runs:
        key = f"eval_{selection_metric(primary[r['task']])}"
        for h in r.get("val_log") or []:
            if key in h:
                scores[(r["task"], r["method"], r["seed"], int(h["step"]))] = h[key]
    for s in summary:
        s["val_score"] = scores.get((s["task"], s["method"], s["seed"], int(s["step"])))


def matched_step(summary: list[dict], task: str, pooling: str) -> tuple[int | None, str]:
    """The last snapshot step every run of `task` reached (not 0), or None and why not."""
    steps: dict[tuple[str, int], set[int]] = defaultdict(set)
    for s in summary:
        if s["task"] == task and s["pooling"] == pooling and not s["selected"]:
            steps[(s["method"], s["seed"])].add(int(s["step"]))
    if not steps:
        return None, f"no drift of task {task} with {pooling} pooling"
    common = set.intersection(*steps.values()) - {0}
    if not common:
        listed = "; ".join(
            f"{m} seed {seed}: {', '.join(map(str, sorted(v)))}"
            for (m, seed), v in sorted(steps.items())
        )
        return None, (
            f"no snapshot step common to every run of task {task} (steps: {listed}); give the "
            "methods one probing.snapshot_every and one training budget"
        )
    return max(common), ""


def drift_decision(summary: list[dict], tasks: list[str], pooling: str) -> dict[str, Any]:
    """decisions.drift: measure, pooling and the compared step per task (None: with the reason)."""
    steps, reasons = {}, {}
    for task in tasks:
        steps[task], why = matched_step(summary, task, pooling)
        if why:
            reasons[task] = why
    return {
        "measure": MEASURE,
        "pooling": pooling,
        "step": steps,
        "not_compared": reasons,
        "matched_score": {},  # per task: results.learning.drift_at_matched_score
        "seed_reference": {},  # per task: seed_reference
    }


def _compared(
    summary: list[dict], task: str, methods: tuple[str, ...], pooling: str, step: int
) -> list[dict]:
    """Summary rows of `task` and `methods` at the matched `step` (not the selected ones)."""
    return [
        s
        for s in summary
        if s["task"] == task
        and s["method"] in methods
        and s["pooling"] == pooling
        and s["step"] == step
        and not s["selected"]
    ]


def drift_by_seed(
    summary: list[dict], task: str, pair: tuple[str, str], pooling: str, step: int
) -> dict[str, list[float]]:
    """Layer-mean drift per seed for the treatment and the reference at the
    matched `step`, in seed order; "paired": both have the same seeds (pairs share a seed)."""

    def rows(method: str) -> list[dict]:
        return sorted(_compared(summary, task, (method,), pooling, step), key=lambda s: s["seed"])

    a, b = rows(pair[0]), rows(pair[1])
    same = [s["seed"] for s in a] == [s["seed"] for s in b]
    drift = {"treatment": [s["mean_drift"] for s in a], "reference": [s["mean_drift"] for s in b]}
    return drift | {"paired": same and len(a) > 1}


def drift_note(
    summary: list[dict], task: str, pair: tuple[str, str], pooling: str, step: int
) -> str:
    """What the drift part rests on, with the layers one component dominates (never silent)."""
    rows = _compared(summary, task, tuple(pair), pooling, step)
    layers = {s["layers"] for s in rows}
    flagged = {layer for s in rows for layer in s["dominated_layers"]}
    note = f"{MEASURE} at the matched step {step}, {pooling} pooling"
    if flagged:
        n_layers = max(layers) if layers else "?"
        listed = ", ".join(map(str, sorted(flagged)))
        note += (
            f"; in {len(flagged)} of {n_layers} layers ({listed}) one principal component holds "
            "more than half of CKA's weight (λ₁²/Σλ²), so drift there reflects that component alone"
        )
    return note
