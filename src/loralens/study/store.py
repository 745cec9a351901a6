"""Content-addressed artifact store: atomic stage directories with verified manifests.

An artifact folder is trusted only as what its name says: its manifest matches its own digest,
names the folder's kind and key, and lists exactly the files in the folder, each with its sha256.
`loralens status`, `run` and `verify` all apply this one check (`artifact_problems`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from loralens.env import fingerprint
from loralens.errors import LoralensError
from loralens.models.convert import sha256_file

if TYPE_CHECKING:
    from loralens.study.units import Stage

MANIFEST = "manifest.json"
LOCK = ".lock"  # held by the `loralens run` working on the folder
MISSING, CHANGED = "is missing", "does not match its sha256"  # how a listed file differs
UNLISTED = "is not in its manifest"  # a file present in an artifact folder but not listed
DIGEST = "digest"  # a manifest's sha256 of its own other fields (canonical JSON)
PID = ".pid"  # in a partial folder: "<pid> <host>" of the process writing it


class ArtifactStore:
    """RUN_DIR/artifacts/<kind>-<key>/ per stage, written under .partial-* then renamed."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.artifacts = self.root / "artifacts"
        self.logs = self.root / "logs"

    def path(self, stage: Stage) -> Path:
        """Where a finished stage's artifact lives."""
        return self.artifacts / f"{stage.kind}-{stage.key}"

    def partial(self, stage: Stage) -> Path:
        """Where a stage writes while running (kept across a kill so training can resume)."""
        return self.artifacts / f".partial-{stage.kind}-{stage.key}"

    def failure(self, stage: Stage) -> Path:
        """The record of a stage's last failure."""
        return self.artifacts / f".failed-{stage.kind}-{stage.key}.json"

    def log(self, stage: Stage) -> Path:
        """The log file of a stage."""
        return self.logs / (stage.id.replace("/", "__") + ".log")

    def verify(self, stage: Stage) -> str | None:
        """None if the artifact exists and is what its name says (artifact_problems), else the
        first problem ("missing" when there is no folder, "no manifest" when it has none)."""
        folder = self.path(stage)
        if not (folder / MANIFEST).is_file():
            return "missing" if not folder.exists() else "no manifest"
        problem = next(artifact_problems(folder), None)
        if problem is None or problem.endswith(MISSING):
            return problem
        return f"{problem} (corrupted)"

    def begin(self, stage: Stage, resumable: bool) -> Path:
        """A clean (or, for resumable stages, kept) partial directory to write into."""
        part = self.partial(stage)
        if part.exists() and not resumable:
            shutil.rmtree(part)
        part.mkdir(parents=True, exist_ok=True)
        (part / PID).write_text(f"{os.getpid()} {socket.gethostname()}")
        return part

    def commit(
        self, stage: Stage, inputs: dict[str, str], started: float, outputs: Sequence[str] = ()
    ) -> Path:
        """Check the declared outputs, write the manifest, rename the partial directory into
        place; a partial folder missing an output is removed, never committed."""
        part = self.partial(stage)
        missing = missing_outputs(part, outputs)
        if missing:
            shutil.rmtree(part, ignore_errors=True)  # not to be resumed: the next run starts anew
            raise LoralensError(
                f"stage {stage.id} did not write {', '.join(missing)} (declared outputs of a "
                f"'{stage.kind}' stage); nothing committed, the next run recomputes it"
            )
        (part / PID).unlink(missing_ok=True)
        files = {
            str(p.relative_to(part)): sha256_file(p)
            for p in sorted(part.rglob("*"))
            if p.is_file() and p.name != MANIFEST
        }
        manifest = {
            "stage": stage.id,
            "kind": stage.kind,
            "key": stage.key,
            "params": stage.params,
            "inputs": {sid: self.relative(path) for sid, path in inputs.items()},
            "files": files,
            "environment": fingerprint(),
            "timings": {
                "started": started,
                "finished": time.time(),
                "seconds": time.time() - started,
            },
        }
        manifest = json.loads(json.dumps(manifest, default=str))  # as it will be read back
        manifest[DIGEST] = manifest_digest(manifest)
        (part / MANIFEST).write_text(json.dumps(manifest, indent=2))
        final = self.path(stage)
        if final.exists():  # a corrupted earlier artifact: replaced, never read
            shutil.rmtree(final)
        part.rename(final)
        self.failure(stage).unlink(missing_ok=True)
        return final

    def relative(self, path: str) -> str:
        """An upstream artifact as a path inside the run folder (a rerun elsewhere writes the
        same manifest); a path outside it unchanged."""
        try:
            return str(Path(path).resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path)

    def record_failure(self, stage: Stage, error: str) -> bool:
        """Remember why a stage failed (read by `loralens status`); False if the record could
        not be written (a full disk), never an exception."""
        record = {"stage": stage.id, "error": error, "log": str(self.log(stage)), "at": time.time()}
        tmp = self.failure(stage).with_suffix(".tmp")
        try:
            self.artifacts.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(record, indent=2))
            tmp.replace(self.failure(stage))
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)  # a half-written record is worse than none
            return False
        return True


def manifest_digest(manifest: dict) -> str:
    """sha256 of a manifest's canonical JSON, its own digest left out."""
    body = {k: v for k, v in manifest.items() if k != DIGEST}
    blob = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def read_manifest(folder: Path) -> dict:
    """An artifact folder's manifest, checked against its own digest; ValueError saying why
    it cannot be trusted (unreadable, no digest, or a digest it does not match)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files, kind, key = manifest["files"], manifest["kind"], manifest["key"]
        if not isinstance(files, dict) or not all(isinstance(x, str) for x in (kind, key)):
            raise TypeError
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):  # bytes flipped
        raise ValueError("its manifest is unreadable") from None
    if DIGEST not in manifest:
        raise ValueError("its manifest has no digest (written by an older loralens)")
    if manifest[DIGEST] != manifest_digest(manifest):
        raise ValueError("its manifest does not match its own digest (edited or damaged)")
    return manifest


def artifact_problems(folder: Path) -> Iterator[str]:
    """Each way an artifact folder is not what its name says, cheapest checks first: its
    manifest untrustworthy (read_manifest), naming another kind or key (a folder moved or
    swapped), a file present but unlisted, a listed file missing or changed."""
    try:
        manifest = read_manifest(folder)
    except ValueError as err:
        yield str(err)
        return
    named = f"{manifest['kind']}-{manifest['key']}"
    if folder.name != named:
        yield f"holds {named} (its manifest says so), not {folder.name} (folders moved or swapped?)"
    files = manifest["files"]
    present = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    for rel in sorted(present - set(files) - {MANIFEST}):
        yield f"{rel} {UNLISTED}"
    for rel, how in changed_files(folder, files):
        yield f"{rel} {how}"


def changed_files(folder: Path, files: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(file, MISSING or CHANGED) for each listed file not as its manifest records it."""
    for rel, digest in files.items():
        path = folder / rel
        if not path.is_file():
            yield rel, MISSING
        elif sha256_file(path) != digest:
            yield rel, CHANGED


def missing_outputs(folder: Path, declared: Sequence[str]) -> list[str]:
    """The declared outputs absent from folder ("a|b": either one will do)."""
    return [
        name for name in declared if not any((folder / alt).exists() for alt in name.split("|"))
    ]


def writer_alive(partial: Path) -> bool:
    """False if a partial folder's writer is known dead (its pid gone on this host), else True."""
    try:
        pid, *host = (partial / PID).read_text().split()
        if host and host[0] != socket.gethostname():
            return True  # another machine's process (a Ray worker): cannot be checked here
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (OSError, ValueError):  # no pid file, unreadable, or not ours to signal
        return True
    return True


def lock_holder(root: Path) -> str | None:
    """Who holds the run folder's lock (a `loralens run` at work on it), or None."""
    path = root / LOCK
    if not path.is_file():
        return None
    with path.open("r") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return fh.read().strip() or "a loralens run"
        fcntl.flock(fh, fcntl.LOCK_UN)
    return None


@contextlib.contextmanager
def run_lock(root: Path) -> Iterator[None]:
    """Hold RUN_DIR/.lock for a whole run: an OS file lock the kernel releases if we die."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / LOCK).open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "a process that did not say who it is"
            raise LoralensError(
                f"{root} is in use by another loralens run ({holder}); wait for it to finish, "
                "or give another --out"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()}, since {time.ctime()}")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
