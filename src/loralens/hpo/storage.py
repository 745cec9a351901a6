"""Where a search lives: SQLite in the study folder by default, or any database URL to share."""

from __future__ import annotations

import contextlib
import fcntl
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from loralens.errors import LoralensError

if TYPE_CHECKING:
    import optuna

SQLITE_TIMEOUT_S = 300  # workers sharing one SQLite file wait this long for its lock
# A running trial records a heartbeat this often; one silent for STALE_AFTER_S (its process was
# killed) is marked failed when a search on the storage next starts, so it is run again.
HEARTBEAT_S = 30
STALE_AFTER_S = 120


def default_url(hpo_dir: Path) -> str:
    """The default storage: `<out>/hpo/optuna.db`."""
    return f"sqlite:///{(hpo_dir / 'optuna.db').resolve()}"


def shown_url(url: str) -> str:
    """The URL without a password (for messages and result files)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: say so with what was given
        return url


def _first_line(exc: BaseException) -> str:
    """An exception's message, its first line only (database drivers write several)."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def open_storage(url: str) -> optuna.storages.RDBStorage:
    """The storage at `url`, checked writable (a study is created and deleted); one line if not."""
    import optuna

    kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}} if url.startswith("sqlite") else {}
    try:
        with _sqlite_lock(url):  # workers starting together would race to create the tables
            with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                storage = optuna.storages.RDBStorage(
                    url,
                    engine_kwargs=kwargs,
                    heartbeat_interval=HEARTBEAT_S,
                    grace_period=STALE_AFTER_S,
                )
            probe = storage.create_new_study(
                [optuna.study.StudyDirection.MAXIMIZE], f"loralens-write-check-{os.getpid()}"
            )
            storage.delete_study(probe)
    except Exception as exc:
        raise LoralensError(
            f"hpo storage {shown_url(url)} cannot be opened for writing: {_first_line(exc)}"
        ) from None
    return storage


@contextlib.contextmanager
def _sqlite_lock(url: str) -> Iterator[None]:
    """Hold `<db>.lock` while a SQLite file is opened (nothing for other databases)."""
    from sqlalchemy.engine import make_url

    database = make_url(url).database if url.startswith("sqlite") else None
    folder = Path(database).parent if database else None
    if folder is None or not folder.is_dir():
        yield
        return
    with open(f"{database}.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
