"""User-facing errors: each carries one message that names what is wrong and what is allowed."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from loralens.paths import cache_dir


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
    """One line for a full disk: what was being done and where to free space (the file the
    error names, else whichever of the run folder and the cache has the least space left)."""
    where = Path(folder).resolve()
    name = _named_file(exc)
    if name is not None and not name.is_relative_to(where):
        where = name.parent  # a write outside the folder (a cache, say)
    elif name is None:
        where = _fullest(where, cache_dir().resolve())
    return DiskFullError(f"disk full while {doing}: free space in {where}")


def _named_file(exc: BaseException | None) -> Path | None:
    """The file the first error in `exc`'s chain names (an OSError's filename), if any."""
    seen = 0
    while exc is not None and seen < 10:
        name = getattr(exc, "filename", None)
        if isinstance(name, str | Path) and name:
            return Path(name).resolve()
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def _fullest(folder: Path, cache: Path) -> Path:
    """The run folder, unless the cache lies on another disk with less free space: where a
    write that named no file most likely failed."""
    try:
        here, there = _existing(folder), _existing(cache)
        if here.stat().st_dev == there.stat().st_dev:
            return folder
        return cache if shutil.disk_usage(there).free < shutil.disk_usage(here).free else folder
    except OSError:
        return folder


def _existing(path: Path) -> Path:
    """`path` or its nearest existing parent."""
    return next((p for p in (path, *path.parents) if p.exists()), path)
