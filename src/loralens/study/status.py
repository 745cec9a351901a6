"""`loralens status RUN_DIR`: which stages are done, degraded, corrupted, running, interrupted,
failed or pending."""

from __future__ import annotations

import json
from pathlib import Path

from loralens.errors import LoralensError
from loralens.study.store import MANIFEST, ArtifactStore, lock_holder, writer_alive
from loralens.study.units import Stage


def study_status(root: Path) -> list[dict]:
    """One record per planned stage: done (verified), degraded (written without some upstream
    stages), corrupted, running, interrupted, failed (with its error and log) or pending."""
    plan = _read_plan(root / "plan.json")
    store = ArtifactStore(root)
    active = lock_holder(root) is not None  # a partial stage is running only while a run is
    return [_stage_status(store, s, active) for s in plan]


def _read_plan(path: Path) -> list[dict]:
    """plan.json's stage records (id, kind, key, ...), or one line saying why there are none."""
    if not path.is_file():
        raise LoralensError(f"{path.parent} is not a study run directory (no plan.json)")
    try:
        plan = json.loads(path.read_text())
        if not isinstance(plan, list) or not all({"id", "kind", "key"} <= set(s) for s in plan):
            raise ValueError
    except (ValueError, TypeError):
        raise LoralensError(f"{path} is unreadable (corrupted); rerun the study") from None
    return plan


def _stage_status(store: ArtifactStore, s: dict, active: bool) -> dict:
    """The checked state of one planned stage (see study_status)."""
    stage = Stage(s["id"], s["kind"], {}, key=s["key"])
    record = {"id": s["id"], "kind": s["kind"], "state": "pending"}
    failure = store.failure(stage)
    partial = store.partial(stage)
    if (store.path(stage) / MANIFEST).is_file():
        problem = store.verify(stage)  # what is called done is checked, file by file
        record["state"] = "done" if problem is None else "corrupted"
        if problem is None:
            record["seconds"] = _seconds(store.path(stage) / MANIFEST)
        else:
            record["error"] = f"{problem}; the next run recomputes it"
    elif partial.is_dir() and active and writer_alive(partial):
        record["state"] = "running"
    elif failure.is_file():
        record |= {"state": "failed", **_failure_info(failure)}
    elif (why := _degraded(store, s)) is not None:  # written without failed stages
        record |= {"state": "degraded", "error": why}
    elif partial.is_dir():
        record["state"] = "interrupted"  # its process is gone; the next run resumes it
    return record


def _seconds(manifest: Path) -> float | None:
    """How long a done stage took to compute (its manifest's timings), None if not recorded."""
    try:
        return float(json.loads(manifest.read_text())["timings"]["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def seconds_by_group(records: list[dict]) -> dict[str, float]:
    """Total compute seconds of the done stages of each group, the first part of their ids
    (train/, encoder/, serve/, ...: the encoder baseline's runs apart from the study's), longest
    first."""
    totals: dict[str, float] = {}
    for r in records:
        if r.get("seconds") is not None:
            group = r["id"].split("/", 1)[0]
            totals[group] = totals.get(group, 0.0) + r["seconds"]
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


def _degraded(store: ArtifactStore, s: dict) -> str | None:
    """Why a stage counts as degraded: it was written, verified, without some upstream stages
    (the run records them in plan.json); None otherwise."""
    ran = s.get("degraded")
    if not ran or store.verify(Stage(s["id"], s["kind"], {}, key=ran["key"])) is not None:
        return None
    missing = ran["missing"]
    first, why = next(iter(missing.items()))
    return (
        f"written without {len(missing)} upstream stage(s) (first: {first}: {why}); "
        "a run that completes them recomputes it"
    )


def current_analysis(root: Path) -> Path:
    """The analysis artifact the folder's plan names, verified: the complete one, else the one
    written without some failed stages (plan.json records it); LoralensError if neither is."""
    record = next((s for s in _read_plan(root / "plan.json") if s["kind"] == "analysis"), None)
    if record is None:
        raise LoralensError(f"{root / 'plan.json'} names no analysis stage; rerun the study")
    store = ArtifactStore(root)
    degraded = record.get("degraded")
    keys = [record["key"], *([degraded["key"]] if isinstance(degraded, dict) else [])]
    problems = []
    for key in keys:
        stage = Stage(record["id"], "analysis", {}, key=key)
        problem = store.verify(stage)
        if problem is None:
            return store.path(stage)
        problems.append(f"artifacts/{store.path(stage).name}: {problem}")
    raise LoralensError(
        f"the analysis the plan of {root} names is not there ({'; '.join(problems)}); "
        "rerun `loralens run` on its study to compute it"
    )


def _failure_info(path: Path) -> dict[str, str]:
    """A failure record's error and log (a damaged record is said to be one)."""
    try:
        info = json.loads(path.read_text())
        return {"error": str(info["error"]), "log": str(info["log"])}
    except (OSError, ValueError, KeyError, TypeError):
        return {"error": f"its failure record {path.name} is unreadable"}
