"""`loralens status RUN_DIR`: which stages are done, corrupted, running, interrupted, failed or
pending."""

from __future__ import annotations

import json
from pathlib import Path

from loralens.errors import LoralensError
from loralens.study.plan import Stage
from loralens.study.store import MANIFEST, ArtifactStore, lock_holder


def study_status(root: Path) -> list[dict]:
    """One record per planned stage: done (verified), corrupted, running, interrupted, failed
    (with its error and log) or pending."""
    plan_path = root / "plan.json"
    if not plan_path.is_file():
        raise LoralensError(f"{root} is not a study run directory (no plan.json)")
    store = ArtifactStore(root)
    active = lock_holder(root) is not None  # a partial stage is running only while a run is
    out = []
    for s in json.loads(plan_path.read_text()):
        stage = Stage(s["id"], s["kind"], {}, key=s["key"])
        record = {"id": s["id"], "kind": s["kind"], "state": "pending"}
        failure = store.failure(stage)
        partial = store.partial(stage).is_dir()
        if (store.path(stage) / MANIFEST).is_file():
            problem = store.verify(stage)  # what is called done is checked, file by file
            record["state"] = "done" if problem is None else "corrupted"
            if problem is not None:
                record["error"] = f"{problem}; the next run recomputes it"
        elif partial and active:
            record["state"] = "running"
        elif failure.is_file():
            info = json.loads(failure.read_text())
            record |= {"state": "failed", "error": info["error"], "log": info["log"]}
        elif partial:
            record["state"] = "interrupted"  # its process is gone; the next run resumes it
        out.append(record)
    return out
