"""Inputs keyed by content: the digest cache is a help, never a failure."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from loralens.study import inputs


def test_a_digest_cache_that_cannot_be_written_costs_a_rehash_not_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "blocker").write_text("a file where the cache folder should be")
    monkeypatch.setattr(inputs, "cache_dir", lambda: tmp_path / "blocker" / "cache")
    monkeypatch.setattr(inputs, "_SEEN", {})
    data = tmp_path / "data.csv"
    data.write_text("text,label\nx,1\n")
    assert inputs.file_digest(data) == hashlib.sha256(data.read_bytes()).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker", "data.csv"]
