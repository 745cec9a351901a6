"""`loralens repro STUDY --repeat N`: run one study N times into fresh folders, compare every file.

Each repeat is a separate `loralens run` process writing its own run folder (so nothing is read
from another repeat's artifacts). Then every file of every artifact (as its manifest lists it,
the manifest itself too) and results.json is compared across the repeats:

- identical: the same bytes;
- measurements differ: JSON documents equal once the measured keys are set aside (timings,
  memory, load, time stamps, host), each measured value's spread given;
- differs: anything else, the first differing place named; a repro fails on any of these.

On CPU the bar is bit-identical for everything that is not a measurement.
"""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from loralens.errors import LoralensError
from loralens.study.store import DIGEST

IDENTICAL, MEASURED, DIFFERS, MISSING = "identical", "measurements differ", "differs", "missing"
Status = Literal["identical", "measurements differ", "differs", "missing"]

# Keys whose values are measurements of the machine, not results: compared separately.
MEASURED_KEYS = frozenset(
    {
        "train_tokens_per_s",
        "eval_runtime",
        "started",
        "finished",
        "created",
        "seconds",
        "load_average_start",
        "load_average_end",
        "host",
        "overhead_vs_merged",
        "tokens_per_s",
        "requests_per_s",
        "memory",
        "break_even_adapters",
        "paired_ratio",
        "warmup",
        "noise_floor",
    }
)  # fmt: skip; and every key ending in MEASURED_SUFFIXES


@dataclasses.dataclass(frozen=True)
class FileMatch:
    """How one file compares across the repeats."""

    path: str  # relative to the run folder
    status: Status
    detail: str = ""  # where it differs, or the measured values' spread


def run_folders(out: Path, repeat: int) -> list[Path]:
    """The fresh run folders of the repeats; refuses --repeat < 2 and folders already used."""
    if repeat < 2:
        raise LoralensError(
            f"--repeat must be at least 2 (got {repeat}): one run has nothing to compare with"
        )
    folders = [out / f"run-{i}" for i in range(1, repeat + 1)]
    used = [str(f) for f in folders if f.exists() and any(f.iterdir())]
    if used:
        raise LoralensError(
            f"{', '.join(used)} already hold a run: repro needs fresh folders (another --out, "
            "or remove them), or the second run would read the first's cached artifacts"
        )
    return folders


def run_repeats(items: Sequence[str], folders: Sequence[Path]) -> None:
    """`loralens run ITEMS --out FOLDER` for each folder, each in its own process."""
    for i, folder in enumerate(folders, 1):
        print(f"repeat {i}/{len(folders)}: loralens run -> {folder}", file=sys.stderr, flush=True)
        cmd = [sys.executable, "-m", "loralens", "run", *items, "--out", str(folder)]
        # The runs' own output goes to stderr: stdout is repro's (its table, or --json).
        code = subprocess.run(cmd, check=False, stdout=sys.stderr).returncode
        if code != 0:  # a run refused before work (exit 2) wrote no logs: its line is above
            logs = folder / "logs"
            where = f"; its stage logs: {logs}" if logs.is_dir() else ""
            raise LoralensError(
                f"repeat {i} did not finish (exit {code}; its error is above{where}); "
                "nothing compared"
            )


def listed_files(root: Path) -> set[str]:
    """Every artifact file its manifest lists, the manifests, and results.json (relative)."""
    out = {"results.json"} if (root / "results.json").is_file() else set()
    for manifest in sorted((root / "artifacts").glob("*/manifest.json")):
        folder = manifest.parent
        if folder.name.startswith("."):
            continue
        out.add(str(manifest.relative_to(root)))
        files = json.loads(manifest.read_text()).get("files", {})
        out |= {str((folder / name).relative_to(root)) for name in files}
    return out


# results.json's parts computed from timings: the serving results and verdicts, each task's
# serving part, and what H's combination takes from it.
MEASURED_SECTIONS = frozenset({"serving", "serving_verdicts"})
FROM_SERVING = frozenset({"p_value", "p_adjusted", "status", "sentence"})


MEASURED_SUFFIXES = ("_ms", "_s", "_mb", "_per_second")  # durations, memory, rates
CLOCK_READINGS = frozenset({"started", "finished", "created"})  # set aside, never a spread


def _measured(doc: dict, key: str, path: str) -> bool:
    """Whether `doc[key]` (at `path`) is a measurement or computed from one."""
    if key in MEASURED_KEYS or key.endswith(MEASURED_SUFFIXES):
        return True
    if not path and key in MEASURED_SECTIONS:
        return True
    if "components" in doc and key in FROM_SERVING:  # H = A and (B or C): C is timings
        return True
    value = doc[key]
    return isinstance(value, dict) and str(value.get("name", "")).startswith("Serving")


def _split(doc: Any, path: str = "") -> Iterator[tuple[str, bool, Any]]:
    """(key path, measured?, leaf value) of every leaf of a JSON document."""
    if isinstance(doc, dict):
        for key in sorted(doc):
            sub = f"{path}.{key}" if path else str(key)
            if _measured(doc, key, path):
                yield sub, True, doc[key]
            else:
                yield from _split(doc[key], sub)
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            if isinstance(value, dict) and str(value.get("name", "")).startswith("Serving"):
                yield f"{path}[{i}]", True, value  # a serving part among H's components
            else:
                yield from _split(value, f"{path}[{i}]")
    else:
        yield path, False, doc


def _numbers(value: Any) -> list[float]:
    """The finite numbers in a measured value (a number or a list of them)."""
    values = value if isinstance(value, list) else [value]
    return [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]


def spread(measured: dict[str, list[Any]]) -> str:
    """'wall_time_s 12.1–12.9 (±3.2%)' for the measured keys that vary, largest spread first."""
    parts, clocks = [], []
    for key, values in measured.items():
        if key in CLOCK_READINGS:
            clocks += [key] if any(v != values[0] for v in values[1:]) else []
            continue
        means = [sum(n) / len(n) for n in map(_numbers, values) if n]
        if len(means) < len(values):  # not numbers: a section computed from timings
            if any(v != values[0] for v in values[1:]):
                parts.append((0.0, f"{key} differs"))
            continue
        if min(means) == max(means):
            continue
        mid = (max(means) + min(means)) / 2
        rel = (max(means) - min(means)) / 2 / abs(mid) if mid else math.inf
        parts.append((rel, f"{key} {min(means):.4g}–{max(means):.4g} (±{100 * rel:.1f}%)"))
    parts.sort(key=lambda p: -p[0])
    shown = [text for _, text in parts[:3]]
    more = f"; {len(parts) - 3} more" if len(parts) > 3 else ""
    clock = f"clock readings {', '.join(clocks)}" if clocks else ""
    return "; ".join(x for x in ("; ".join(shown) + more, clock) if x)


def compare_json(docs: Sequence[Any]) -> tuple[str, str]:
    """(first differing non-measured key path or '', spread of the measured values)."""
    leaves = [list(_split(d)) for d in docs]
    shapes = [[(p, m) for p, m, _ in leaf] for leaf in leaves]
    if any(s != shapes[0] for s in shapes[1:]):
        paths = [{p for p, _ in s} for s in shapes]
        odd = sorted(set.union(*paths) - set.intersection(*paths))
        return f"keys differ: {odd[0] if odd else 'order'}", ""
    measured: dict[str, list[Any]] = {}
    for i, (path, is_measured, value) in enumerate(leaves[0]):
        others = [leaf[i][2] for leaf in leaves[1:]]
        if is_measured:
            measured[path.rsplit(".", 1)[-1]] = [value, *others]
        elif any(o != value for o in others):
            return f"{path}: {value!r} vs {others[0]!r}", ""
    return "", spread(measured)


def compare_file(rel: str, roots: Sequence[Path]) -> FileMatch:
    """How the file at `rel` compares across the run folders."""
    paths = [root / rel for root in roots]
    absent = [str(i + 1) for i, p in enumerate(paths) if not p.is_file()]
    if absent:
        return FileMatch(rel, MISSING, f"not in run {', '.join(absent)}")
    blobs = [p.read_bytes() for p in paths]
    if all(b == blobs[0] for b in blobs[1:]):
        return FileMatch(rel, IDENTICAL)
    if rel.endswith(".json"):
        try:
            docs = [json.loads(b) for b in blobs]
            if rel.endswith("/manifest.json"):  # each listed file is compared on its own,
                # and its digest covers its timings: set aside with them
                docs = [{**d, "files": sorted(d.get("files", {})), DIGEST: ""} for d in docs]
            where, measured = compare_json(docs)
        except ValueError:
            where, measured = "not valid JSON in every run", ""
        if not where:
            return FileMatch(rel, MEASURED, measured or "key order or formatting only")
        return FileMatch(rel, DIFFERS, where)
    first = next(i for i, (a, b) in enumerate(zip(blobs[0], blobs[1], strict=False)) if a != b)
    return FileMatch(rel, DIFFERS, f"bytes differ from offset {first} ({len(blobs[0])} bytes)")


def compare_runs(roots: Sequence[Path]) -> list[FileMatch]:
    """Every listed file of every run folder, compared across them (sorted by path)."""
    names = set().union(*(listed_files(r) for r in roots))
    return [compare_file(rel, roots) for rel in sorted(names)]


def summary(matches: Sequence[FileMatch]) -> dict[str, int]:
    """How many files are in each status."""
    return {s: sum(m.status == s for m in matches) for s in (IDENTICAL, MEASURED, DIFFERS, MISSING)}


def failed(matches: Sequence[FileMatch]) -> bool:
    """Whether any non-measurement content differs or a file is missing."""
    return any(m.status in (DIFFERS, MISSING) for m in matches)


__all__ = ["FileMatch", "compare_runs", "failed", "run_folders", "run_repeats", "summary"]
