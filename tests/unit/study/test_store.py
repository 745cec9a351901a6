"""Artifact store: atomic commit, manifest verification, corruption detection."""

from pathlib import Path

from loralens.study.plan import Stage
from loralens.study.store import ArtifactStore


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
