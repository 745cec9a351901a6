"""`loralens status`: each state is checked, not assumed (verified artifacts, a live writer, an
analysis written without some stages)."""

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from loralens.errors import LoralensError
from loralens.study.executors import LocalExecutor
from loralens.study.runner import run_study
from loralens.study.status import seconds_by_group, study_status
from loralens.study.store import ArtifactStore, run_lock
from loralens.study.units import Stage
from tests.unit.study._fake_study import fake_study


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


def _reaped() -> int:
    """The pid of a process that has exited (and was reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_partial_stage_whose_writer_died_is_not_running(tmp_path: Path) -> None:
    stages = _run_dir(tmp_path)
    pid_file = ArtifactStore(tmp_path).partial(stages["part"]) / ".pid"
    with run_lock(tmp_path):  # a run holds the folder, but this stage's writer is gone
        pid_file.write_text(f"{_reaped()} {socket.gethostname()}")
        assert _states(tmp_path)["x/part"] == "interrupted"
        pid_file.write_text(f"{os.getpid()} {socket.gethostname()}")
        assert _states(tmp_path)["x/part"] == "running"
        pid_file.write_text(f"{_reaped()} another-host")  # a Ray worker elsewhere: not checked
        assert _states(tmp_path)["x/part"] == "running"


def test_an_analysis_written_without_a_failed_stage_is_degraded_not_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    submit = LocalExecutor(tmp_path)
    fake_study(monkeypatch, fail=True)
    for _ in range(2):  # run, then rerun with the failure still there (analysis cached)
        outcome = run_study(None, tmp_path, submit)  # type: ignore[arg-type]
        assert list(outcome.failed) == ["data/b"]
        assert _states(tmp_path) == {"data/a": "done", "data/b": "failed", "analysis": "degraded"}
    record = next(r for r in study_status(tmp_path) if r["id"] == "analysis")
    assert record["error"].startswith("written without 1 upstream stage(s) (first: data/b: ")

    def killed(batch: list) -> Iterator:
        raise KeyboardInterrupt  # a rerun killed while it retries data/b
        yield

    with pytest.raises(KeyboardInterrupt):
        run_study(None, tmp_path, killed)  # type: ignore[arg-type]
    assert _states(tmp_path)["analysis"] == "degraded"  # still known from the earlier run
    planned = json.loads((tmp_path / "plan.json").read_text())[-1]  # the analysis
    full = Stage("analysis", "analysis", {}, key=planned["key"])
    ArtifactStore(tmp_path).record_failure(full, "boom")  # the full analysis itself failed
    assert _states(tmp_path)["analysis"] == "failed"
    ArtifactStore(tmp_path).failure(full).unlink()
    degraded = planned["degraded"]
    (ArtifactStore(tmp_path).artifacts / f"analysis-{degraded['key']}" / "results.json").unlink()
    assert _states(tmp_path)["analysis"] == "pending"  # what is called degraded is verified too
    fake_study(monkeypatch, fail=False)
    assert not run_study(None, tmp_path, submit).failed  # type: ignore[arg-type]
    assert set(_states(tmp_path).values()) == {"done"}


def test_an_unreadable_plan_is_one_line(tmp_path: Path) -> None:
    for broken in ("[{", "[1, 2]", '[{"id": "x"}]', "{}"):
        (tmp_path / "plan.json").write_text(broken)
        with pytest.raises(LoralensError, match=r"plan.json is unreadable \(corrupted\)"):
            study_status(tmp_path)


def test_done_stages_carry_their_compute_seconds(tmp_path: Path) -> None:
    stages = _run_dir(tmp_path)
    manifest = ArtifactStore(tmp_path).path(stages["ok"]) / "manifest.json"
    doc = json.loads(manifest.read_text())
    assert doc["timings"]["seconds"] > 0  # committed with started=0.0: the epoch to now
    records = {r["id"]: r for r in study_status(tmp_path)}
    assert records["x/ok"]["seconds"] == doc["timings"]["seconds"]
    assert all("seconds" not in records[i] for i in ("x/bad", "x/part", "x/fail", "x/new"))


def test_seconds_by_group_adds_done_stages_of_each_id_prefix() -> None:
    records = [
        {"id": "train/t/lora/1", "kind": "train", "seconds": 100.0},
        {"id": "serve/2-labels", "kind": "serve", "seconds": 150.0},
        {"id": "train/t/full/1", "kind": "train", "seconds": 60.5},
        {"id": "encoder/t/1", "kind": "train", "seconds": 20.0},  # the encoder baseline apart
        {"id": "drift/t/lora/1", "kind": "drift"},  # pending: no seconds
    ]
    assert seconds_by_group(records) == {"train": 160.5, "serve": 150.0, "encoder": 20.0}
    assert list(seconds_by_group(records)) == ["train", "serve", "encoder"]  # longest first
