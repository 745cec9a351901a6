"""A full disk is recognised however it is raised, and said in one line naming where to free."""

import errno
import os
import shutil
from pathlib import Path

import pytest

from loralens.errors import disk_full, is_disk_full

ENOSPC = OSError(errno.ENOSPC, "No space left on device")


def _raised_from(cause: BaseException) -> RuntimeError:
    try:
        raise RuntimeError("saving the checkpoint failed") from cause
    except RuntimeError as exc:
        return exc


@pytest.mark.parametrize(
    ("exc", "full"),
    [
        (ENOSPC, True),
        (RuntimeError("Error while serializing: No space left on device (os error 28)"), True),
        (_raised_from(ENOSPC), True),  # a library wrapping the OSError
        (OSError(errno.EACCES, "Permission denied"), False),
        (ValueError("loss is nan"), False),
    ],
)
def test_a_full_disk_is_recognised_however_raised(exc: BaseException, full: bool) -> None:
    assert is_disk_full(exc) is full


def test_the_line_names_the_run_folder_or_the_folder_outside_it(tmp_path: Path) -> None:
    inside = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "a" / "b.json"))
    assert str(disk_full("running stage x", inside, tmp_path)) == (
        f"disk full while running stage x: free space in {tmp_path.resolve()}"
    )
    cache = tmp_path.parent / "cache" / "digests.json"
    outside = OSError(errno.ENOSPC, "No space left on device", str(cache))
    assert str(disk_full("running stage x", outside, tmp_path)).endswith(
        f"free space in {cache.parent.resolve()}"
    )


def test_a_full_disk_that_names_no_file_points_to_the_fuller_of_run_folder_and_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cache on its own disk fills up while the run folder's has room: the line must not
    # send the user to the run folder (a safetensors error names no file).
    run, cache = tmp_path / "run", tmp_path / "cache"
    run.mkdir()
    cache.mkdir()
    monkeypatch.setenv("LORALENS_CACHE", str(cache))
    assert str(disk_full("x", RuntimeError("No space left on device"), run)).endswith(
        f"free space in {run.resolve()}"  # one disk for both: the run folder's
    )
    devices = {str(run.resolve()): 1, str(cache.resolve()): 2}  # two disks
    real_stat = Path.stat
    monkeypatch.setattr(
        Path,
        "stat",
        lambda self, **k: os.stat_result(
            (*real_stat(self, **k)[:2], devices.get(str(self), 3), *real_stat(self, **k)[3:])
        ),
    )
    space = {run.resolve(): 76 * 2**30, cache.resolve(): 12_000}
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(
        shutil, "disk_usage", lambda p: usage._replace(free=space.get(Path(p).resolve(), 2**40))
    )
    exc = RuntimeError("Error while serializing: No space left on device (os error 28)")
    assert str(disk_full("running stage x", exc, run)).endswith(f"free space in {cache.resolve()}")
    space[run.resolve()], space[cache.resolve()] = 12_000, 76 * 2**30
    assert str(disk_full("running stage x", exc, run)).endswith(f"free space in {run.resolve()}")
    wrapped = RuntimeError("save failed")
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device", str(cache / "x.bin"))
    assert str(disk_full("running stage x", wrapped, run)).endswith(  # the file it names wins
        f"free space in {cache.resolve()}"
    )
