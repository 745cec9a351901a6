"""Extractive QA examples (SQuAD v1.1/v2 format) from the official JSON, JSONL or hub rows.

Every reader checks each question the same way and raises a `DataError` naming the file (and line
or row), the question id and what is wrong. A question is unanswerable when it has no answers;
`is_impossible` is optional, and when present must agree with the answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loralens.data.sources import utf8_text
from loralens.errors import DataError


@dataclass(frozen=True)
class QAExample:
    """A question on a context with its gold answers (none: unanswerable) and their offsets."""

    id: str
    context: str
    question: str
    answers: tuple[str, ...]
    answer_starts: tuple[int, ...]

    @property
    def answerable(self) -> bool:
        """True if the question has at least one gold answer."""
        return bool(self.answers)


def read_squad(path: Path | str) -> list[QAExample]:
    """Examples from a SQuAD file: `.jsonl` one question per line, otherwise the official JSON."""
    path = Path(path)
    return read_squad_jsonl(path) if path.suffix == ".jsonl" else read_squad_json(path)


def read_squad_json(path: Path | str) -> list[QAExample]:
    """Examples from the official SQuAD JSON (`data` > `paragraphs` > `qas`)."""
    path = Path(path)
    text = _read_text(path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    records = _official_records(doc, str(path))
    return _unique(((str(path), r) for r in records), str(path))


def read_squad_jsonl(path: Path | str) -> list[QAExample]:
    """Examples from JSONL: one object per line with id, context, question and answers."""
    path = Path(path)
    located = []
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path} line {number}: invalid JSON: {exc.msg}") from None
        located.append((f"{path} line {number}", record))
    return _unique(located, str(path))


def examples_from_rows(rows: Iterable[Mapping[str, Any]], where: str) -> list[QAExample]:
    """Examples from Hugging Face `datasets` rows of the `rajpurkar/squad_v2` schema."""
    return _unique(((f"{where} row {i}", row) for i, row in enumerate(rows, start=1)), where)


def _read_text(path: Path) -> str:
    """The file's text, or raise if it is missing or holds nothing but whitespace."""
    if not path.is_file():
        raise DataError(f"SQuAD file not found: {path}")
    text = utf8_text(path.read_bytes(), path)
    if not text.strip():
        raise DataError(f"SQuAD file is empty: {path}")
    return text


def _official_records(doc: Any, where: str) -> Iterator[dict[str, Any]]:
    """Flatten `data` > `paragraphs` > `qas` into records that carry their paragraph's context."""
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise DataError(f"{where}: not SQuAD JSON (expected an object with a 'data' list)")
    for a, article in enumerate(doc["data"], start=1):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise DataError(f"{where}: article {a} has no 'paragraphs' list")
        for p, para in enumerate(paragraphs, start=1):
            qas = para.get("qas") if isinstance(para, dict) else None
            if not isinstance(qas, list) or not isinstance(para.get("context"), str):
                raise DataError(
                    f"{where}: article {a} paragraph {p} needs a 'context' string and a 'qas' list"
                )
            for qa in qas:
                if not isinstance(qa, dict):
                    raise DataError(f"{where}: article {a} paragraph {p} has a non-object in 'qas'")
                yield {**qa, "context": para["context"]}


def _unique(located: Iterable[tuple[str, Any]], where: str) -> list[QAExample]:
    """Build each (location, record) into an example; ids must be unique, and there must be one."""
    examples: list[QAExample] = []
    first_seen: dict[str, str] = {}
    for loc, record in located:
        ex = _example(record, loc)
        if ex.id in first_seen:
            raise DataError(
                f"{loc}: duplicate question id '{ex.id}' (first at {first_seen[ex.id]})"
            )
        first_seen[ex.id] = loc
        examples.append(ex)
    if not examples:
        raise DataError(f"{where}: no questions found")
    return examples


def _example(record: Any, where: str) -> QAExample:
    """One checked example from a flat record (id, context, question, answers, is_impossible)."""
    if not isinstance(record, Mapping):
        raise DataError(f"{where}: expected a JSON object, got {type(record).__name__}")
    qid = record.get("id")
    if not isinstance(qid, str | int) or isinstance(qid, bool) or str(qid) == "":
        raise DataError(f"{where}: question without an 'id' (a string)")
    qid = str(qid)
    for field in ("context", "question"):
        if not isinstance(record.get(field), str):
            raise DataError(f"{where}: question '{qid}' has no '{field}' string")
    if "answers" not in record:
        raise DataError(f"{where}: question '{qid}' has no 'answers' field")
    pairs = _answer_pairs(record["answers"], qid, where)
    _check_impossible(record.get("is_impossible"), len(pairs), qid, where)
    context = record["context"]
    for text, start in pairs:
        _check_span(context, text, start, qid, where)
    return QAExample(
        id=qid,
        context=context,
        question=record["question"],
        answers=tuple(t for t, _ in pairs),
        answer_starts=tuple(s for _, s in pairs),
    )


def _answer_pairs(answers: Any, qid: str, where: str) -> list[tuple[str, int]]:
    """(text, start) pairs from `{"text": [...], "answer_start": [...]}` or a list of objects."""
    bad = DataError(
        f"{where}: question '{qid}': 'answers' must be a list of {{text, answer_start}} objects "
        "or {text: [...], answer_start: [...]}"
    )
    if isinstance(answers, Mapping):
        texts, starts = answers.get("text"), answers.get("answer_start")
        if not isinstance(texts, list) or not isinstance(starts, list):
            raise bad
        if len(texts) != len(starts):
            raise DataError(
                f"{where}: question '{qid}': {len(texts)} answer texts "
                f"but {len(starts)} answer_start values"
            )
        pairs = list(zip(texts, starts, strict=True))
    elif isinstance(answers, list):
        if not all(
            isinstance(a, Mapping) and {"text", "answer_start"} <= a.keys() for a in answers
        ):
            raise bad
        pairs = [(a["text"], a["answer_start"]) for a in answers]
    else:
        raise bad
    for text, start in pairs:
        if not isinstance(text, str) or not isinstance(start, int) or isinstance(start, bool):
            raise DataError(
                f"{where}: question '{qid}': answer {text!r} at {start!r} needs a text string "
                "and an integer answer_start"
            )
    return pairs


def _check_impossible(flag: Any, n_answers: int, qid: str, where: str) -> None:
    """`is_impossible`, when given, must be a boolean that agrees with the number of answers."""
    if flag is None:
        return
    if not isinstance(flag, bool):
        raise DataError(f"{where}: question '{qid}': is_impossible must be true or false")
    if not flag and n_answers == 0:
        raise DataError(f"{where}: question '{qid}' is not marked is_impossible but has no answers")
    if flag and n_answers > 0:
        raise DataError(
            f"{where}: question '{qid}' is marked is_impossible but has {n_answers} answers"
        )


def _check_span(context: str, text: str, start: int, qid: str, where: str) -> None:
    """The answer text must be non-empty and sit in the context at its start offset."""
    if not text:
        raise DataError(f"{where}: question '{qid}': empty answer text at {start}")
    end = start + len(text)
    if start < 0 or end > len(context):
        raise DataError(
            f"{where}: question '{qid}': answer {text!r} at {start} lies outside the context "
            f"({len(context)} characters)"
        )
    if context[start:end] != text:
        raise DataError(
            f"{where}: question '{qid}': answer {text!r} at {start} does not match the "
            f"context there ({context[start:end]!r})"
        )
