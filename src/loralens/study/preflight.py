"""Before `loralens run` creates anything: every task's data read as its stages will read it.

Loading is the code `data stats` runs, so what it refuses (bytes that are not UTF-8, a bad
JSONL line, one class, too few rows for the splits) is refused here, in one line naming the file
and line, before the run folder, lock, plan or logs exist. Then what a file may legally hold but
the design cannot read: an input of no tokens (nothing to classify or pool), and a probe input of
no more tokens than `probing.sink_tokens` (mean_nosink, the default pooling, leaves those out:
no token would be left; `capture` would fail in the control stage).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from loralens.data.run_task import SPLIT_NAMES, load_run_task
from loralens.data.spec import TaskSpec
from loralens.errors import DataError
from loralens.kinds import get_kind
from loralens.probing.probe_set import run_probe_set
from loralens.study.plan import study_tasks

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from loralens.config import RunConfig
    from loralens.data import TaskData

SHOWN = 5  # places named in one error line; the rest counted


def check_study_data(cfg: RunConfig) -> None:
    """Read every task of the study as its stages will; DataError (one line) for the first
    whose data a stage would refuse or could not use."""
    from loralens.models.load import load_tokenizer

    tok = load_tokenizer(cfg.model.name)
    for task in study_tasks(cfg):
        run = cfg.model_copy(update={"task": cfg.task.model_copy(update={"name": task.entry})})
        data = load_run_task(run, tok)  # the loading, splits and prompt the stages use
        check_lengths(run, data, tok)


def check_lengths(cfg: RunConfig, data: TaskData, tok: PreTrainedTokenizerBase) -> None:
    """Every input has a token, and every probe input more than probing.sink_tokens."""
    spec, model = data.spec, cfg.model.name
    for split in SPLIT_NAMES:
        texts = [spec.format_input(e) for e in getattr(data.splits, split)]
        empty = [texts[i] for i in too_short(texts, tok, cfg.model.max_length, 1)]
        if empty:
            raise DataError(
                f"task {spec.name}: {len(empty)} {split} input(s) have no token under {model} "
                f"({places(spec, cfg.task.data_dir, empty)}); every input needs at least one: "
                "drop or fill those rows"
            )
    k = cfg.probing.sink_tokens
    probe = run_probe_set(data, cfg).texts
    short = [probe[i] for i in too_short(probe, tok, cfg.model.max_length, k + 1)]
    if short:
        raise DataError(
            f"task {spec.name}: {len(short)} probe input(s) have at most {k} token(s) under "
            f"{model} ({places(spec, cfg.task.data_dir, short)}), and mean_nosink leaves out "
            f"the first probing.sink_tokens={k}: none would be left; allowed: probe inputs of "
            f"more than {k} tokens (drop or lengthen those rows, or lower probing.sink_tokens)"
        )


def too_short(
    texts: list[str], tok: PreTrainedTokenizerBase, max_length: int, minimum: int
) -> list[int]:
    """Indices of the texts of fewer than `minimum` tokens, as a model reads them (cut to
    max_length, special tokens included)."""
    ids = tok(texts, truncation=True, max_length=max_length)["input_ids"] if texts else []
    return [i for i, row in enumerate(ids) if len(row) < minimum]


def places(spec: TaskSpec, data_dir: Path | None, texts: list[str]) -> str:
    """Where the inputs `texts` are: their rows in a custom task's files ('FILE rows 2, 4'),
    else the inputs themselves (quoted); the first few of each, the rest counted."""
    rows = source_rows(spec, data_dir)
    by_file: dict[str, list[int]] = {}
    quoted = []
    for text in dict.fromkeys(texts):
        for path, row in rows.get(text, []):
            by_file.setdefault(path, []).append(row)
        if text not in rows:
            quoted.append(f"input {text[:60]!r}")
    found = [f"{path} row{'s' * (len(n) > 1)} {_first(sorted(n))}" for path, n in by_file.items()]
    return ", ".join(found + ([_first(quoted)] if quoted else []))


def _first(items: list) -> str:
    """The first SHOWN items, the rest counted."""
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return ", ".join(map(str, items[:SHOWN])) + more


def source_rows(spec: TaskSpec, data_dir: Path | None) -> dict[str, list[tuple[str, int]]]:
    """Each formatted input of a custom classification task's files -> its (file, row) places,
    rows numbered as the loader's errors number them; empty for other tasks."""
    from loralens.data.sources import read_table, rows_to_examples

    src = spec.source
    if not get_kind(spec.kind).labelled or src.kind != "file":
        return {}
    base = Path(data_dir) if data_dir else Path.cwd()
    out: dict[str, list[tuple[str, int]]] = {}
    for name in [n for n in (src.file, src.test_file) if n]:
        path = base / name
        rows = rows_to_examples(read_table(path, src.format), spec, src.columns, str(path))
        for i, example in enumerate(rows, 1):
            out.setdefault(spec.format_input(example), []).append((str(path), i))
    return out
