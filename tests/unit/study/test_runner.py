"""The runner's stage execution: logs kept across attempts, declared outputs, a full disk."""

import errno
import json
from pathlib import Path

import pytest

from loralens.errors import LoralensError
from loralens.study import stages
from loralens.study.executors import LocalExecutor, _run_one
from loralens.study.runner import Outcome, execute_stage, run_study, stage_log
from loralens.study.stages import READABLE, STAGE_KINDS
from loralens.study.store import ArtifactStore
from loralens.study.units import Stage
from tests.unit.study._fake_study import fake_study, patch_kind


def _write(name: str, folder: str | None = None):
    """A stage function that writes only `name` (through the stages' own JSON writer)."""

    def fn(params: dict, inputs: dict, out: Path) -> None:
        stages._write_json(out / name, {"ok": 1})
        if folder:
            (out / folder).mkdir()

    return fn


def _disk_full(path: Path, data: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_running_stage_log_shows_each_line_as_it_is_printed(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "train__t__lora__1.log"
    with stage_log(log):
        print("step 5: loss 0.69")
        assert log.read_text() == "step 5: loss 0.69\n"  # not held in a buffer until the end
        print("step 10: loss 0.52")
    assert log.read_text().splitlines() == ["step 5: loss 0.69", "step 10: loss 0.52"]


def test_a_resumed_stage_appends_to_the_killed_attempts_log(tmp_path, monkeypatch) -> None:
    stage = Stage("train/t/lora/1", "train", {}, key="k1")
    log = ArtifactStore(tmp_path).log(stage)
    log.parent.mkdir(parents=True)
    first = "== attempt 1: train/t/lora/1 (train-k1) started 2026-01-01 10:00:00 =="
    killed = f"{first}\nstep 1: 0.69\n"
    log.write_text(killed)  # what a kill -9 leaves: no traceback, no end
    patch_kind(monkeypatch, "train", run=lambda p, i, out: print("step 2: 0.52"))
    patch_kind(monkeypatch, "train", outputs=())
    execute_stage(str(tmp_path), stage, {})
    lines = log.read_text().splitlines()
    assert log.read_text().startswith(killed)  # the first attempt's lines are all still there
    assert lines[2].startswith("== attempt 2: train/t/lora/1 (train-k1) started ")
    assert lines[3:] == ["step 2: 0.52"]


def test_every_stage_kind_declares_its_outputs_and_reads_registered_kinds() -> None:
    assert all(kind.outputs for kind in STAGE_KINDS.values())
    assert all(
        set(k.reads) <= set(STAGE_KINDS) or k.reads == READABLE for k in STAGE_KINDS.values()
    )
    assert all(name == kind.name for name, kind in STAGE_KINDS.items())


def test_a_stage_missing_a_declared_output_is_not_committed_and_reruns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ArtifactStore(tmp_path)
    for kind in ("data", "train"):  # not resumable, resumable
        stage = Stage(f"{kind}/t", kind, {}, key="k1")
        patch_kind(monkeypatch, kind, outputs=("stats.json", "adapter|model"))
        patch_kind(monkeypatch, kind, run=_write("other.json"))
        path, error = _run_one(str(tmp_path), stage, {})
        assert path is None and error == (
            f"stage {kind}/t did not write stats.json, adapter|model (declared outputs of a "
            f"'{kind}' stage); nothing committed, the next run recomputes it"
        )
        assert store.verify(stage) == "missing" and not store.partial(stage).exists()
        assert "did not write stats.json" in store.log(stage).read_text()  # and in its log
        patch_kind(monkeypatch, kind, run=_write("stats.json", "model"))  # either alternative
        assert execute_stage(str(tmp_path), stage, {}) == str(store.path(stage))
        assert store.verify(stage) is None
        assert {p.name for p in store.path(stage).iterdir()} >= {"stats.json", "manifest.json"}


def test_a_full_disk_in_a_stage_is_one_line_and_commits_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = Stage("data/t", "data", {}, key="k1")
    patch_kind(monkeypatch, "data", run=_write("stats.json"))
    monkeypatch.setattr(stages, "_write_json", _disk_full)
    path, error = _run_one(str(tmp_path), stage, {})
    assert path is None
    assert error == f"disk full while running stage data/t: free space in {tmp_path.resolve()}"
    store = ArtifactStore(tmp_path)
    assert store.verify(stage) == "missing"
    with pytest.raises(LoralensError, match=r"^disk full while running stage data/t"):
        execute_stage(str(tmp_path), stage, {})


def test_a_full_disk_does_not_fail_the_failure_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = Stage("data/t", "data", {}, key="k1")
    store = ArtifactStore(tmp_path)
    patch_kind(monkeypatch, "data", run=_write("stats.json"))
    monkeypatch.setattr(stages, "_write_json", _disk_full)
    monkeypatch.setattr(Path, "write_text", lambda self, *a, **k: _disk_full(self, None))
    monkeypatch.setattr("loralens.study.runner.plan_study", lambda cfg: [stage])
    monkeypatch.setattr("loralens.study.runner.write_plan", lambda *a: None)

    def submit(batch):
        for s, inputs in batch:
            yield s, *_run_one(str(tmp_path), s, inputs)

    outcome = run_study(None, tmp_path, submit)  # type: ignore[arg-type]
    assert outcome == Outcome(
        failed={
            "data/t": f"disk full while running stage data/t: free space in {tmp_path.resolve()}"
            "; its failure record could not be written either"
        }
    )
    assert not store.failure(stage).exists() and not list(store.artifacts.glob(".failed-*"))
    assert store.record_failure(stage, "boom") is False  # never raises


def test_a_full_disk_in_loralens_run_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from loralens.cli import main

    monkeypatch.setattr("loralens.study.runner.write_plan", lambda *a: _disk_full(tmp_path, {}))
    assert main(["run", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    where = (tmp_path / "run").resolve()
    line = f"loralens: error: disk full while running study quickstart: free space in {where}"
    assert line in err.splitlines() and "Traceback" not in err


def test_a_byte_flipped_in_a_manifest_recomputes_that_stage_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_study(monkeypatch, fail=False)
    submit = LocalExecutor(tmp_path)
    first = run_study(None, tmp_path, submit)  # type: ignore[arg-type]
    assert sorted(first.done) == ["analysis", "data/a", "data/b"]
    manifest = next(ArtifactStore(tmp_path).artifacts.glob("data-*/manifest.json"))
    raw = bytearray(manifest.read_bytes())
    raw[0] ^= 0xFF  # '{' is no longer JSON
    manifest.write_bytes(bytes(raw))
    again = run_study(None, tmp_path, submit)  # type: ignore[arg-type]
    recomputed = json.loads(manifest.read_text())["stage"]
    assert again.done == [recomputed] and len(again.cached) == 2


def test_swapped_artifact_folders_are_recomputed_never_read_under_the_wrong_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loralens.study.status import study_status

    fake_study(monkeypatch, fail=False)
    submit = LocalExecutor(tmp_path)
    run_study(None, tmp_path, submit)  # type: ignore[arg-type]
    a, b = sorted(ArtifactStore(tmp_path).artifacts.glob("data-*"))
    a.rename(tmp_path / "held")
    b.rename(a)
    (tmp_path / "held").rename(b)
    states = {r["id"]: r["state"] for r in study_status(tmp_path)}
    assert states == {"data/a": "corrupted", "data/b": "corrupted", "analysis": "done"}
    again = run_study(None, tmp_path, submit)  # type: ignore[arg-type]
    assert sorted(again.done) == ["data/a", "data/b"] and again.cached == ["analysis"]
    for folder in (a, b):  # each folder now holds the artifact its name says
        manifest = json.loads((folder / "manifest.json").read_text())
        assert folder.name == f"{manifest['kind']}-{manifest['key']}"


def test_an_unlisted_file_in_an_artifact_recomputes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_study(monkeypatch, fail=False)
    submit = LocalExecutor(tmp_path)
    run_study(None, tmp_path, submit)  # type: ignore[arg-type]
    folder = sorted(ArtifactStore(tmp_path).artifacts.glob("data-*"))[0]
    (folder / "planted.json").write_text("{}")
    again = run_study(None, tmp_path, submit)  # type: ignore[arg-type]
    assert len(again.done) == 1 and len(again.cached) == 2
    assert not (folder / "planted.json").exists()
