"""User-facing errors: each carries one message that names what is wrong and what is allowed."""

from __future__ import annotations

import errno
from pathlib import Path


class LoralensError(Exception):
    """An error caused by user input or environment; the CLI prints it on one line and exits 2."""


class ConfigError(LoralensError):
    """A study or run configuration is invalid."""


class DataError(LoralensError):
    """A task, data file or split is invalid."""


class ModelError(LoralensError):
    """A model name, path or packaged model is unusable."""


class DiskFullError(LoralensError):
    """The disk filled up (ENOSPC) while loralens was writing."""


def is_disk_full(exc: BaseException | None) -> bool:
    """True if exc, or an exception it was raised from, says no space is left on the device
    (an OSError with ENOSPC, or a library's own error quoting it, as safetensors' does)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        if "No space left on device" in str(exc):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def disk_full(doing: str, exc: BaseException, folder: Path) -> DiskFullError:
    """One line for a full disk: what was being done and where to free space."""
    name = getattr(exc, "filename", None)
    where = Path(folder).resolve()
    if isinstance(name, str | Path) and name and not Path(name).resolve().is_relative_to(where):
        where = Path(name).resolve().parent  # a write outside the folder (a cache, say)
    return DiskFullError(f"disk full while {doing}: free space in {where}")
