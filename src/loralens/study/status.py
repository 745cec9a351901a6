"""`loralens status RUN_DIR`: which stages are done, running, failed or pending."""

from __future__ import annotations

import json
import os
from pathlib import Path

from loralens.errors import LoralensError


def _alive(pid_file: Path) -> bool:
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


def study_status(root: Path) -> list[dict]:
    """One record per planned stage: id, kind, state, and the error and log of a failure."""
    plan_path = root / "plan.json"
    if not plan_path.is_file():
        raise LoralensError(f"{root} is not a study run directory (no plan.json)")
    art = root / "artifacts"
    out = []
    for s in json.loads(plan_path.read_text()):
        name = f"{s['kind']}-{s['key']}"
        record = {"id": s["id"], "kind": s["kind"], "state": "pending"}
        failure = art / f".failed-{name}.json"
        partial = art / f".partial-{name}"
        if (art / name / "manifest.json").is_file():
            record["state"] = "done"
        elif partial.is_dir() and (partial / ".pid").is_file() and _alive(partial / ".pid"):
            record["state"] = "running"
        elif failure.is_file():
            info = json.loads(failure.read_text())
            record |= {"state": "failed", "error": info["error"], "log": info["log"]}
        out.append(record)
    return out
