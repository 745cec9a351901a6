"""Peak RSS over a span: a reset forgets an earlier, larger allocation, or says it could not."""

from __future__ import annotations

import mmap
from pathlib import Path

import pytest

from loralens import memory
from loralens.memory import peak_rss_mb, reset_peak_rss

MIB = 2**20


def _touched_mapping(size_mb: int) -> mmap.mmap:
    """An anonymous mapping of size_mb MiB with every page written (so resident)."""
    block = mmap.mmap(-1, size_mb * MIB)
    for offset in range(0, size_mb * MIB, mmap.PAGESIZE):
        block[offset] = 1
    return block


def test_reset_forgets_an_earlier_peak() -> None:
    if not reset_peak_rss():
        pytest.skip("this platform cannot reset the peak-RSS mark")
    before = peak_rss_mb()
    block = _touched_mapping(400)
    high = peak_rss_mb()
    block.close()  # munmap: the pages leave RSS whatever the allocator would do
    assert high - before > 300
    assert reset_peak_rss()
    assert peak_rss_mb() < high - 300


def _fake_proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hwm_kb: int, rss_kb: int) -> None:
    """Point the module at a clear_refs that ignores writes and a fixed status file."""
    status = tmp_path / "status"
    status.write_text(f"Name:\tpython\nVmHWM:\t{hwm_kb} kB\nVmRSS:\t{rss_kb} kB\n")
    monkeypatch.setattr(memory, "CLEAR_REFS", tmp_path / "clear_refs")
    monkeypatch.setattr(memory, "STATUS", status)


def test_an_ignored_reset_is_reported_as_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_proc(tmp_path, monkeypatch, hwm_kb=1_200_000, rss_kb=400_000)
    assert not reset_peak_rss()
    assert peak_rss_mb() == pytest.approx(1_200_000 / 1024)


def test_a_reset_that_took_effect_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_proc(tmp_path, monkeypatch, hwm_kb=400_100, rss_kb=400_000)
    assert reset_peak_rss()


def test_no_clear_refs_means_no_reset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "CLEAR_REFS", tmp_path / "missing" / "clear_refs")
    assert not reset_peak_rss()
