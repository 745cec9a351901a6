"""The serving evidence of a study: one result per serving group, shared by its tasks' verdicts.

The benchmark of a serving group (the adapters served together on one base) is one measurement.
It is tested once, on its own at alpha (`serving_verdicts` in results.json); each task's H reads
the same timings as its part C, which says whose measurement it is, so a reader never mistakes
the tasks' serving parts for independent evidence.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from loralens.stats.hypotheses import Thresholds, not_applicable, serving_verdict


def group_verdicts(
    groups: list[dict], engine: str, th: Thresholds, unlearned: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Part C tested alone, once per serving group, with the group's tasks and stage.

    `unlearned`: per task, why a comparison on it is not applicable (a compared model did not
    learn). What serving costs is set by the adapters' shape (rank, targets, how many), not by
    what they learned: the verdict speaks for the group's tasks that learned (`speaks_for`, said
    in its sentence) and is "not applicable" only when none did: never beside a learned task's
    part C that reads the same timings.
    """
    unlearned = unlearned or {}
    out = []
    for group in groups:
        samples = serving_samples(group, engine)
        reason = "" if samples else f"no serving result: {engine} at K = 2 and merged not timed"
        samples = samples or {"merged": [], "adapters": [], "paired": False}
        verdict = serving_verdict(
            samples["merged"],
            samples["adapters"],
            thresholds=th,
            paired=samples["paired"],
            reason=reason,
            note=measured(engine),
        )
        info = group["group"]
        learned = [t for t in info["tasks"] if t not in unlearned]
        why = "; ".join(f"{t}: {unlearned[t]}" for t in info["tasks"] if t in unlearned)
        if not learned:
            verdict = not_applicable(
                verdict, f"it serves adapters of tasks whose models did not learn ({why})"
            )
        elif why:
            verdict = dataclasses.replace(
                verdict, sentence=f"{verdict.sentence} {speaks_for(learned, why)}"
            )
        tested = {"slice": samples.get("slice"), "speaks_for": learned}
        out.append({"group": info["id"], "tasks": info["tasks"], **verdict.to_dict(), **tested})
    return out


def speaks_for(learned: list[str], why: str) -> str:
    """The sentence of a group verdict whose group holds tasks that did not learn."""
    return (
        f"It speaks for {', '.join(learned)}, whose models learned; what an adapter costs to serve "
        f"depends on its shape, not on what it learned, but the other tasks' models did not learn "
        f"({why})."
    )


def measured(engine: str) -> str:
    """What part C times: the engine, against what."""
    return f"engine {engine} serving K = 2 adapters in one batch against merged weights serving one"


def serving_note(groups: list[dict], task: str, engine: str) -> str:
    """Whose measurement a task's part C is: which engine, its serving group's, shared with which
    tasks."""
    group = next((g["group"] for g in groups if task in g["group"]["tasks"]), None)
    if group is None:
        return ""
    others = [t for t in group["tasks"] if t != task]
    shared = f", shared with {', '.join(others)}" if others else ""
    return (
        f"{measured(engine)}; the study-level serving result of {group['id']}{shared}, "
        "not a per-task measurement"
    )


def task_serving(
    groups: list[dict], task: str, engine: str, failed: dict[str, str], served: bool = True
) -> tuple[dict[str, Any] | None, str]:
    """Merged vs adapter latencies of the serving group holding `task`'s adapters, or why not.

    `failed`: serve stages that did not finish, with the reason; `served`: engines were asked for.
    """
    group = next((g for g in groups if task in g["group"]["tasks"]), None)
    if group is None and not served:
        return None, "not measured: serving.engines is empty, so the study served nothing"
    if group is None:
        if failed:
            stage, why = next(iter(failed.items()))
            return None, f"no serving result: stage {stage} did not finish ({why})"
        return None, "no serving result: the study served no adapter of this task"
    samples = serving_samples(group, engine)
    if samples is None:
        return None, f"no serving result: {engine} at K = 2 and merged were not both timed"
    return samples, ""


def serving_samples(serving: dict, engine: str | None) -> dict[str, Any] | None:
    """Forward latencies of the multi-adapter engine at K = 2 and of its baseline, if measured.

    The baseline is merged weights serving one adapter's batch of the same size, timed around
    each call (A-B-A; `paired_baseline_ms`, the geometric mean of the two flanking calls): the
    pairs are the units of the signed-rank test. Results without a paired baseline fall back to
    merged's own K = 1 row, unpaired.
    """
    engine = engine or "peft-mixed"
    rows = [
        r
        for r in serving.get("rows", [])
        if r.get("engine") == engine
        and r.get("workload") == "forward"
        and r.get("k_adapters") == 2
        and r.get("samples_ms")
    ]
    mixed = max(rows, key=lambda r: r["batch_size"], default=None)
    if mixed is None:
        return None
    tested = {"workload": "forward", "batch_size": mixed["batch_size"], "k_adapters": 2}
    tested["order"] = mixed.get("order")
    if mixed.get("paired_baseline_ms"):
        return {
            "merged": mixed["paired_baseline_ms"],
            "adapters": mixed["samples_ms"],
            "paired": True,
            "slice": tested,
        }
    merged = next(
        (
            r
            for r in serving.get("rows", [])
            if r.get("engine") == "merged"
            and r.get("workload") == "forward"
            and r.get("batch_size") == mixed["batch_size"]
            and r.get("samples_ms")
            and r.get("k_adapters") in (1, 2)
        ),
        None,
    )
    if merged is None:
        return None
    return {
        "merged": merged["samples_ms"],
        "adapters": mixed["samples_ms"],
        "paired": False,
        "slice": tested,
    }
