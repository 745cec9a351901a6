"""`loralens status`: each state is checked, not assumed (verified artifacts, a live run)."""

import json
from pathlib import Path

from loralens.study.plan import Stage
from loralens.study.status import study_status
from loralens.study.store import ArtifactStore, run_lock


def _run_dir(root: Path) -> dict[str, Stage]:
    """A run folder with one stage in each state."""
    store = ArtifactStore(root)
    stages = {n: Stage(f"x/{n}", "data", {}, key=f"k-{n}") for n in ("ok", "bad", "part", "fail")}
    (root / "plan.json").parent.mkdir(parents=True, exist_ok=True)
    plan = [{"id": s.id, "kind": s.kind, "key": s.key, "deps": []} for s in stages.values()]
    (root / "plan.json").write_text(json.dumps([*plan, {**plan[0], "id": "x/new", "key": "n"}]))
    for name in ("ok", "bad"):
        (store.begin(stages[name], resumable=False) / "out.json").write_text("{}")
        store.commit(stages[name], {}, started=0.0)
    (store.path(stages["bad"]) / "out.json").write_text('{"flipped": 1}')
    (store.begin(stages["part"], resumable=True) / "checkpoint").write_text("1")
    store.record_failure(stages["fail"], "boom")
    return stages


def _states(root: Path) -> dict[str, str]:
    return {r["id"]: r["state"] for r in study_status(root)}


def test_every_state_is_checked(tmp_path: Path) -> None:
    _run_dir(tmp_path)
    assert _states(tmp_path) == {
        "x/ok": "done",
        "x/bad": "corrupted",  # its manifest is there, its file no longer matches
        "x/part": "interrupted",  # a partial folder whose run is gone (its pid may be reused)
        "x/fail": "failed",
        "x/new": "pending",
    }
    bad = next(r for r in study_status(tmp_path) if r["id"] == "x/bad")
    assert "does not match its sha256" in bad["error"]


def test_a_partial_stage_is_running_only_while_a_run_holds_the_folder(tmp_path: Path) -> None:
    _run_dir(tmp_path)
    with run_lock(tmp_path):
        assert _states(tmp_path)["x/part"] == "running"
    assert _states(tmp_path)["x/part"] == "interrupted"
