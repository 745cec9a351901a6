"""Artifact store: atomic commit, manifest verification, corruption detection."""

import json
import os
from pathlib import Path

import pytest

from loralens.errors import LoralensError
from loralens.study.store import ArtifactStore, run_lock
from loralens.study.units import Stage
from tests.conftest import run_cli


def _stage() -> Stage:
    return Stage("x/1", "data", {"a": 1}, key="k123")


def test_commit_is_atomic_and_verified(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    stage = _stage()
    assert store.verify(stage) == "missing"
    part = store.begin(stage, resumable=False)
    (part / "out.json").write_text("{}")
    assert store.verify(stage) == "missing"  # a partial artifact is never read
    final = store.commit(stage, {}, started=0.0)
    assert final == store.path(stage) and not part.exists()
    assert store.verify(stage) is None
    (final / "out.json").write_text('{"tampered": 1}')
    assert "sha256" in store.verify(stage)
    (final / "out.json").unlink()
    assert "missing" in store.verify(stage)


def test_an_unreadable_manifest_is_a_corrupted_artifact(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    stage = _stage()
    store.begin(stage, resumable=False)
    final = store.commit(stage, {}, started=0.0)
    manifest = final / "manifest.json"
    for broken in (manifest.read_text()[:-7], '{"no_files": 1}', "[1, 2]", b"\xff\xfe"):
        if isinstance(broken, bytes):
            manifest.write_bytes(broken)
        else:
            manifest.write_text(broken)
        assert store.verify(stage) == "its manifest is unreadable (corrupted)"


def test_begin_wipes_non_resumable_partials_and_keeps_resumable(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    stage = _stage()
    (store.begin(stage, resumable=True) / "ckpt").write_text("1")
    assert (store.begin(stage, resumable=True) / "ckpt").exists()
    assert not (store.begin(stage, resumable=False) / "ckpt").exists()


def test_failure_record_is_cleared_by_success(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    stage = _stage()
    store.record_failure(stage, "boom")
    assert store.failure(stage).is_file()
    store.begin(stage, resumable=False)
    store.commit(stage, {}, started=0.0)
    assert not store.failure(stage).exists()


def test_a_held_run_lock_refuses_a_second_holder_naming_the_first(tmp_path: Path) -> None:
    holder = rf"in use by another loralens run \(pid {os.getpid()}"
    with run_lock(tmp_path), pytest.raises(LoralensError, match=holder), run_lock(tmp_path):
        pass
    with run_lock(tmp_path):  # released when the holder is done
        pass


def test_a_second_run_on_a_locked_folder_exits_2(tmp_path: Path) -> None:
    with run_lock(tmp_path / "run"):
        proc = run_cli("run", "--out", str(tmp_path / "run"))
    assert proc.returncode == 2
    assert f"is in use by another loralens run (pid {os.getpid()}" in proc.stderr
    assert not (tmp_path / "run" / "plan.json").exists()  # nothing touched


def test_a_folder_holding_another_study_is_refused(tmp_path: Path) -> None:
    from loralens.study.cli import check_same_study

    run = tmp_path / "run"
    run.mkdir()
    check_same_study(run, "quickstart")  # a new folder
    (run / "study.yaml").write_text("name: glue-cpu\n")
    check_same_study(run, "glue-cpu")  # the same study again (other overrides are fine)
    proc = run_cli("run", "--out", str(run))
    assert proc.returncode == 2
    assert (
        "holds the study 'glue-cpu', not 'quickstart'" in proc.stderr and "--force" in proc.stderr
    )
    assert not (run / "plan.json").exists()


def _committed(store: ArtifactStore, stage: Stage, text: str = "{}") -> Path:
    """A committed artifact of `stage` holding out.json."""
    (store.begin(stage, resumable=False) / "out.json").write_text(text)
    return store.commit(stage, {}, started=0.0)


def test_a_manifest_edited_into_other_valid_json_is_corrupted(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    stage = _stage()
    manifest = _committed(store, stage) / "manifest.json"
    text = manifest.read_text()
    manifest.write_text(text.replace('"stage": "x/1"', '"stage": "x/2"'))  # one byte, still JSON
    assert json.loads(manifest.read_text())["stage"] == "x/2"
    expected = "its manifest does not match its own digest (edited or damaged) (corrupted)"
    assert store.verify(stage) == expected
    data = json.loads(text)
    del data["digest"]  # as written before manifests carried a digest
    manifest.write_text(json.dumps(data))
    assert "has no digest" in store.verify(stage)


def test_a_file_present_but_unlisted_is_corrupted(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    stage = _stage()
    final = _committed(store, stage)
    (final / "sub").mkdir()
    (final / "sub" / "extra.bin").write_bytes(b"?")
    assert store.verify(stage) == "sub/extra.bin is not in its manifest (corrupted)"


def test_a_manifest_that_lost_a_file_entry_is_corrupted_even_if_redigested(
    tmp_path: Path,
) -> None:
    from loralens.study.store import manifest_digest

    store = ArtifactStore(tmp_path)
    stage = _stage()
    manifest = _committed(store, stage) / "manifest.json"
    data = json.loads(manifest.read_text())
    del data["files"]["out.json"]
    manifest.write_text(json.dumps(data))
    assert "does not match its own digest" in store.verify(stage)
    data["digest"] = manifest_digest(data)  # a consistent manifest that leaves the file out
    manifest.write_text(json.dumps(data))
    assert store.verify(stage) == "out.json is not in its manifest (corrupted)"


def test_swapped_artifact_folders_are_each_corrupted_naming_what_they_hold(
    tmp_path: Path,
) -> None:
    store = ArtifactStore(tmp_path)
    a, b = Stage("t/a", "train", {}, key="ka"), Stage("t/b", "train", {}, key="kb")
    _committed(store, a, '"a"')
    _committed(store, b, '"b"')
    store.path(a).rename(tmp_path / "tmp")
    store.path(b).rename(store.path(a))
    (tmp_path / "tmp").rename(store.path(b))
    assert store.verify(a) == (
        "holds train-kb (its manifest says so), not train-ka (folders moved or swapped?) "
        "(corrupted)"
    )
    assert store.verify(b) is not None and "holds train-ka" in store.verify(b)
