"""`loralens verify RUN_DIR`: recheck every artifact of a study run folder against its manifest.

Per artifact, the check `status` and `run` make too (store.artifact_problems): the manifest is
readable and matches its own digest; the folder is named by its kind and key; every listed file
exists and matches its sha256, and no file is present that the manifest does not list. Then: the
key follows from the manifest's params and upstream keys under this loralens (its version and the
kind's computation version); every upstream artifact is in the folder; the software that wrote it
(loralens, Python, the pinned packages, the torch build) is the software here. And results.json
equals the analysis artifact the folder's plan names. Hardware and thread counts are not compared
(a run may be checked on another machine).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loralens.errors import LoralensError
from loralens.study.plan import content_key
from loralens.study.store import artifact_problems, read_manifest

SOFTWARE = ("loralens", "python", "torch_build")  # plus every entry of "packages"


@dataclass(frozen=True)
class Mismatch:
    """One way an artifact differs from what its manifest (or this environment) says."""

    artifact: str  # artifacts/<kind>-<key>, or results.json
    what: str

    def line(self) -> str:
        """The mismatch as one line."""
        return f"{self.artifact}: {self.what}"


def verify_run(root: Path, here: dict[str, Any]) -> tuple[int, list[Mismatch]]:
    """(artifacts checked, every mismatch) of a study run folder; `here`: this environment."""
    artifacts = root / "artifacts"
    if not artifacts.is_dir():
        raise LoralensError(
            f"{root} is not a study run folder (no artifacts/); give a --out of run"
        )
    folders = sorted(p for p in artifacts.iterdir() if p.is_dir() and not p.name.startswith("."))
    found: list[Mismatch] = []
    for folder in folders:
        found += [Mismatch(f"artifacts/{folder.name}", w) for w in _artifact(folder, here)]
    found += _results(root)
    return len(folders), found


def _artifact(folder: Path, here: dict[str, Any]) -> list[str]:
    """What is wrong with one artifact folder (empty: nothing)."""
    problems = list(artifact_problems(folder))  # the check status and run make too
    try:
        manifest = read_manifest(folder)
    except ValueError:
        return problems  # its one problem: nothing else in it can be trusted
    kind, key = manifest["kind"], manifest["key"]
    inputs = manifest.get("inputs") or {}
    upstream = [Path(str(p)).name for p in inputs.values()]
    problems += [
        f"its input {sid} ({name}) is not in this run folder"
        for sid, name in zip(inputs, upstream, strict=True)
        if not (folder.parent / name).is_dir()
    ]
    dep_keys = [name.split("-", 1)[-1] for name in upstream]
    if content_key(kind, manifest.get("params", {}), dep_keys) != key:
        problems.append(
            "its key does not follow from its params and inputs under this loralens (params "
            "edited, or written by another version of loralens or of this stage's computation)"
        )
    problems += _software(manifest.get("environment") or {}, here)
    return problems


def _software(there: dict[str, Any], here: dict[str, Any]) -> list[str]:
    """Software versions that differ between the manifest's environment and this one."""
    pairs = [(k, there.get(k), here.get(k)) for k in SOFTWARE]
    packages = sorted(set(there.get("packages") or {}) | set(here.get("packages") or {}))
    pairs += [
        (f"packages.{p}", (there.get("packages") or {}).get(p), (here.get("packages") or {}).get(p))
        for p in packages
    ]
    return [f"written with {k} {a}, here {b}" for k, a, b in pairs if a != b]


def _results(root: Path) -> list[Mismatch]:
    """results.json must equal the current plan's analysis artifact's (the report's own
    provenance check), named with why not."""
    from loralens.report.write import ReportError, provenance

    if not (root / "results.json").is_file():
        return []
    try:
        provenance(root)
    except ReportError as err:
        return [Mismatch("results.json", str(err))]
    return []
