"""A full disk is recognised however it is raised, and said in one line naming where to free."""

import errno
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
