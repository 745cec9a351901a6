"""Drift against learning: how much a run's representations moved to reach a val score.

Drift compared at a matched step says which method was given the larger step as much as which
preserves more (1 − CKA grows roughly with the square of the weight change). Compared at a
matched val score, it asks what each method gave up to learn as much: each run's path of
(val score, drift) over its snapshots is read where it first reaches a score every run of the
task reached, interpolated linearly between the two snapshots around it (after Biderman et al.
2024's learning–forgetting curves).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

Path = list[tuple[int, float, float]]  # (step, val score, layer-mean drift), in step order


def run_paths(summary: list[dict], task: str, pooling: str) -> dict[tuple[str, int], Path]:
    """Per (variant, seed) of `task`: its snapshots' (step, val score, drift), in step order."""
    paths: dict[tuple[str, int], Path] = defaultdict(list)
    for s in summary:
        if s["task"] != task or s["pooling"] != pooling or s["selected"]:
            continue
        if s.get("val_score") is None or s.get("mean_drift") is None:
            continue
        paths[(s["method"], int(s["seed"]))].append(
            (int(s["step"]), float(s["val_score"]), float(s["mean_drift"]))
        )
    return {k: sorted(v) for k, v in paths.items()}


def oriented(score: float, greater_is_better: bool) -> float:
    """A val score turned so that larger is better."""
    return score if greater_is_better else -score


def matched_score(paths: dict[tuple[str, int], Path], greater: bool) -> float | None:
    """The best val score every run reached (None: no run has a val score)."""
    if not paths:
        return None
    reached = min(max(oriented(v, greater) for _, v, _ in p) for p in paths.values())
    return oriented(reached, greater)


def drift_at_score(path: Path, target: float, greater: bool) -> tuple[float | None, bool]:
    """(drift where the path first reaches `target`, interpolated between the snapshots around
    it; whether it had reached it by its first evaluated snapshot, so that drift is an upper
    bound: no val score is taken at step 0). (None, False) if it never does."""
    goal = oriented(target, greater)
    prev = None
    for _step, val, drift in path:
        score = oriented(val, greater)
        if score >= goal:
            if prev is None:
                return drift, True
            frac = (goal - prev[0]) / (score - prev[0])  # prev score < goal <= score
            return float(prev[1] + frac * (drift - prev[1])), False
        prev = (score, drift)
    return None, False


def drift_at_matched_score(
    summary: list[dict], task: str, pooling: str, greater: bool
) -> dict[str, object]:
    """The matched score of `task` and each run's drift where it first reached it."""
    paths = run_paths(summary, task, pooling)
    target = matched_score(paths, greater)
    if target is None:
        return {"score": None, "runs": [], "reason": "no run has val scores at its snapshots"}
    runs = []
    for (m, seed), p in sorted(paths.items()):
        drift, first = drift_at_score(p, target, greater)
        runs.append({"method": m, "seed": seed, "drift": drift, "upper_bound": first})
    return {"score": target, "runs": runs, "reason": ""}


def mean_by_method(runs: list[dict]) -> dict[str, float]:
    """Mean drift at the matched score per variant."""
    by: dict[str, list[float]] = defaultdict(list)
    for r in runs:
        if r["drift"] is not None:
            by[r["method"]].append(r["drift"])
    return {m: float(np.mean(v)) for m, v in by.items()}


def matched_note(matched: dict, pair: list[str] | tuple[str, str]) -> list[str]:
    """The drift part's words on drift at the matched val score (none when not compared)."""
    if matched.get("score") is None:
        return []
    means = mean_by_method(matched["runs"])
    if not all(m in means for m in pair):
        return []
    shown = ", ".join(f"{m} {means[m]:.5f}" for m in pair)
    bounded = sum(r["upper_bound"] for r in matched["runs"] if r["method"] in pair)
    note = f"at the val score every run reached ({matched['score']:.4g}), mean drift {shown}"
    if bounded:
        n = sum(r["method"] in pair for r in matched["runs"])
        note += (
            f" ({bounded} of {n} runs had reached it by their first evaluated snapshot: their "
            "drift there is an upper bound)"
        )
    return [note]


def learning_rates(config: dict, runs: list[dict]) -> dict[str, object]:
    """decisions.learning_rates: how the variants' rates were chosen and the rates trained at."""
    study, hpo = config.get("study") or {}, config.get("hpo") or {}
    how = "tuned" if hpo.get("tuned") or study.get("learning_rates") == "tuned" else "hand"
    values: dict[str, list[float]] = defaultdict(list)
    for r in runs:
        if r.get("learning_rate") is not None and r["learning_rate"] not in values[r["method"]]:
            values[r["method"]].append(r["learning_rate"])
    search = {k: hpo.get(k) for k in ("trials", "seeds", "space")} if how == "tuned" else None
    if hpo.get("tuned"):  # hpo.use: searched on each of these tasks
        tuned_on = sorted(hpo["tuned"])
    else:  # rates written in the config: the tasks it says the search ran on (None: all)
        tuned_on = list(study.get("tuned_on") or []) or None
    return {
        "how": how,
        "values": dict(values),
        "search": search,
        "tuned_on": tuned_on if how == "tuned" else None,
    }


def rates_note(rates: dict, task: str) -> str:
    """What `task`'s drift comparison's step sizes rest on, said beside its drift verdict: rates
    searched on other tasks' val are, for this one, set by hand."""
    values = "; ".join(
        f"{m} {', '.join(f'{v:.3g}' for v in vs)}" for m, vs in rates["values"].items()
    )
    tuned_on = rates.get("tuned_on")
    if rates["how"] == "tuned" and (tuned_on is None or task in tuned_on):
        return f"learning rates tuned on val the same way for every variant ({values})"
    why = "not tuned" if rates["how"] == "hand" else f"tuned on {', '.join(tuned_on)}, not here"
    return (
        f"learning rates set by hand, {why} ({values}): drift at a matched step also "
        "reflects the step sizes given"
    )
