"""The lock `make setup` installs from, and how the installed distributions differ from it."""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from loralens.errors import LoralensError

# Shipped in the wheel, so `loralens doctor` finds it without the source tree; `make setup`
# installs from the same files: requirements.lock (hashed), torch.txt (unhashed), packaged.lock.
LOCK_DIR = Path(__file__).resolve().parent / "lock"
LOCK_FILES = ("requirements.lock", "torch.txt", "packaged.lock")
# Installed in every environment but never locked: the installer and loralens itself.
NOT_LOCKED = frozenset({"pip", "loralens"})

_COMMENT = re.compile(r"(^|\s+)#.*$")
_HASH = re.compile(r"--hash[=\s]+(\S+)")


class LockError(LoralensError):
    """A lock file that cannot be read as exact pins."""


@dataclass(frozen=True)
class Pin:
    """One locked distribution: its exact version, marker and the file hashes pip checks."""

    name: str  # canonical (PEP 503)
    version: str
    marker: str | None = None
    hashes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Difference:
    """One way the environment differs from the lock."""

    kind: Literal["missing", "version", "extra"]
    name: str
    locked: str | None = None
    installed: str | None = None

    def line(self) -> str:
        """One line for the terminal."""
        if self.kind == "missing":
            return f"missing: {self.name}=={self.locked} is locked but not installed"
        if self.kind == "version":
            return (
                f"different version: {self.name} {self.installed} installed, {self.locked} locked"
            )
        return f"extra: {self.name} {self.installed} installed, neither locked nor required"


def logical_lines(text: str) -> list[str]:
    """The requirement file's lines as pip reads them: continuations joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    lines = (_COMMENT.sub("", line).strip() for line in joined.splitlines())
    return [line for line in lines if line]


def parse_pin(line: str, where: str = "lock") -> Pin | None:
    """A logical requirement line as a Pin; None for a pip option line (`--index-url …`)."""
    if line.startswith("-"):
        return None
    hashes = tuple(_HASH.findall(line))
    text = _HASH.sub("", line).strip()
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise LockError(f"{where}: not a requirement: {text!r} ({exc})") from None
    specs = list(req.specifier)
    if len(specs) != 1 or specs[0].operator not in ("==", "==="):
        raise LockError(f"{where}: {req.name} is not pinned to one version: {text!r}")
    return Pin(canonicalize_name(req.name), specs[0].version, str(req.marker or "") or None, hashes)


def parse_lock(text: str, where: str = "lock") -> list[Pin]:
    """Every pin of a requirements file with exact versions (hashes and markers allowed)."""
    pins = [parse_pin(line, where) for line in logical_lines(text)]
    return [p for p in pins if p is not None]


def applicable(pins: Iterable[Pin], environment: Mapping[str, str] | None = None) -> dict[str, Pin]:
    """The pins whose environment marker holds here (or in `environment`), by name."""
    env = dict(environment) if environment is not None else None
    return {p.name: p for p in pins if p.marker is None or Marker(p.marker).evaluate(env)}


def version_matches(pin: Pin, installed: str) -> bool:
    """Whether an installed version is the locked one."""
    # A hashed pin names files, so only that exact version (no local label) is it; an unhashed
    # pin (torch) matches as pip's `==` does: 2.13.0+cpu is torch==2.13.0.
    try:
        version = Version(installed)
    except InvalidVersion:
        return False
    if pin.hashes:
        return version == Version(pin.version)
    return Requirement(f"{pin.name}=={pin.version}").specifier.contains(version, prereleases=True)


def required_closure(roots: Iterable[str], requires: Mapping[str, Iterable[str]]) -> set[str]:
    """Every name reachable from `roots` through `requires` (name → names it requires)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(requires.get(name, ()))
    return seen


def compare(
    pins: Mapping[str, Pin],
    installed: Mapping[str, str],
    requires: Mapping[str, Iterable[str]] | None = None,
) -> list[Difference]:
    """Differences between locked pins and installed versions (both by canonical name)."""
    # A distribution that is not locked is an extra unless a locked, installed one requires it
    # (`requires`: name → names it requires), as PyPI's torch requires its CUDA libraries.
    found = []
    for name, pin in pins.items():
        if name not in installed:
            found.append(Difference("missing", name, locked=pin.version))
        elif not version_matches(pin, installed[name]):
            found.append(Difference("version", name, pin.version, installed[name]))
    needed = required_closure((n for n in pins if n in installed), requires or {})
    for name, version in installed.items():
        if name not in pins and name not in needed and name not in NOT_LOCKED:
            found.append(Difference("extra", name, installed=version))
    return sorted(found, key=lambda d: (d.name, d.kind))


def read_lock(folder: Path = LOCK_DIR) -> list[Pin]:
    """The pins of every lock file in `folder`."""
    pins = []
    for name in LOCK_FILES:
        path = folder / name
        if not path.is_file():
            raise LockError(f"no lock file {path}")
        pins += parse_lock(path.read_text(encoding="utf-8"), str(path))
    return pins


def torch_requirement(folder: Path = LOCK_DIR) -> str:
    """The torch pin of `torch.txt` as a requirement, e.g. 'torch==2.13.0'."""
    path = folder / "torch.txt"
    pins = [p for p in parse_lock(path.read_text(encoding="utf-8"), str(path)) if p.name == "torch"]
    if len(pins) != 1:
        raise LockError(f"{path} must pin torch exactly once, found {len(pins)}")
    return f"torch=={pins[0].version}"


def installed_distributions() -> tuple[dict[str, str], dict[str, list[str]]]:
    """Installed versions and, per distribution, the names it requires here (extras left out)."""
    versions: dict[str, str] = {}
    requires: dict[str, list[str]] = {}
    for dist in importlib.metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"] or "")
        if not name or name in versions:  # the first on sys.path is the one imported
            continue
        versions[name] = dist.version
        requires[name] = [r for r in map(_required_name, dist.requires or []) if r]
    return versions, requires


def _required_name(line: str) -> str | None:
    """The name a Requires-Dist line requires here; None under an extra, a false marker or junk."""
    try:
        req = Requirement(line)
    except InvalidRequirement:
        return None
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        return None
    return canonicalize_name(req.name)


def lock_differences(folder: Path = LOCK_DIR) -> tuple[int, list[Difference]]:
    """How many pins apply here and how this environment differs from the lock in `folder`."""
    pins = applicable(read_lock(folder))
    versions, requires = installed_distributions()
    return len(pins), compare(pins, versions, requires)
