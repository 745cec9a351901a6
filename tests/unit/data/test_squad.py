"""SQuAD readers: official JSON, JSONL in two answer forms, hub rows; one line per problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from loralens.data.squad import (
    QAExample,
    examples_from_rows,
    read_squad,
    read_squad_json,
    read_squad_jsonl,
)
from loralens.errors import DataError

CONTEXT = "The Broncos won Super Bowl 50 in Santa Clara."


def _qa(qid: str, answers: list[tuple[str, int]], **extra: Any) -> dict[str, Any]:
    """One official-format question."""
    return {
        "id": qid,
        "question": f"question {qid}?",
        "answers": [{"text": t, "answer_start": s} for t, s in answers],
        **extra,
    }


def _official(tmp_path: Path, qas: list[dict], context: str = CONTEXT) -> Path:
    """An official SQuAD v2 JSON file with one article and one paragraph."""
    paragraph = {"context": context, "qas": qas}
    doc = {"version": "v2.0", "data": [{"title": "SB50", "paragraphs": [paragraph]}]}
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(doc))
    return path


def _jsonl(tmp_path: Path, records: list[dict]) -> Path:
    """A JSONL file, one record a line."""
    path = tmp_path / "dev.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _flat(qid: str, answers: Any, **extra: Any) -> dict[str, Any]:
    """One flat record on CONTEXT."""
    return {"id": qid, "context": CONTEXT, "question": "who?", "answers": answers, **extra}


def test_official_json(tmp_path: Path) -> None:
    qas = [
        _qa("q1", [("Broncos", 4), ("The Broncos", 0)], is_impossible=False),
        _qa("q2", [], is_impossible=True, plausible_answers=[{"text": "x", "answer_start": 0}]),
        _qa("q3", [("Santa Clara", 33)]),  # v1.1 form: no is_impossible
    ]
    examples = read_squad(_official(tmp_path, qas))
    assert examples == [
        QAExample("q1", CONTEXT, "question q1?", ("Broncos", "The Broncos"), (4, 0)),
        QAExample("q2", CONTEXT, "question q2?", (), ()),
        QAExample("q3", CONTEXT, "question q3?", ("Santa Clara",), (33,)),
    ]
    assert [e.answerable for e in examples] == [True, False, True]


def test_official_json_several_articles_keep_their_contexts(tmp_path: Path) -> None:
    doc = {
        "data": [
            {"paragraphs": [{"context": "abc", "qas": [_qa("a", [("b", 1)])]}]},
            {"paragraphs": [{"context": "xyz", "qas": [_qa("b", [("z", 2)])]}]},
        ]
    }
    path = tmp_path / "two.json"
    path.write_text(json.dumps(doc))
    assert [(e.id, e.context) for e in read_squad_json(path)] == [("a", "abc"), ("b", "xyz")]


@pytest.mark.parametrize(
    "answers",
    [
        {"text": ["Broncos", "Santa Clara"], "answer_start": [4, 33]},  # HF datasets form
        [{"text": "Broncos", "answer_start": 4}, {"text": "Santa Clara", "answer_start": 33}],
    ],
)
def test_jsonl_both_answer_forms(tmp_path: Path, answers: Any) -> None:
    path = _jsonl(tmp_path, [_flat("q1", answers), _flat("q2", {"text": [], "answer_start": []})])
    examples = read_squad(path)
    assert examples[0].answers == ("Broncos", "Santa Clara")
    assert examples[0].answer_starts == (4, 33)
    assert examples[1] == QAExample("q2", CONTEXT, "who?", (), ())


def test_jsonl_skips_blank_lines_and_reads_integer_ids(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(_flat(7, [])) + "\n\n" + json.dumps(_flat("8", [])) + "\n")
    assert [e.id for e in read_squad_jsonl(path)] == ["7", "8"]


def test_hub_rows() -> None:
    rows = [
        {
            "id": "56be",
            "title": "SB50",
            "context": CONTEXT,
            "question": "who?",
            "answers": {"text": ["Broncos"], "answer_start": [4]},
        },
        {
            "id": "5a8d",
            "title": "SB50",
            "context": CONTEXT,
            "question": "why?",
            "answers": {"text": [], "answer_start": []},
        },
    ]
    assert examples_from_rows(rows, "rajpurkar/squad_v2 validation") == [
        QAExample("56be", CONTEXT, "who?", ("Broncos",), (4,)),
        QAExample("5a8d", CONTEXT, "why?", (), ()),
    ]


def test_examples_are_frozen() -> None:
    ex = QAExample("q", "c", "q?", (), ())
    with pytest.raises(AttributeError):
        ex.id = "other"  # type: ignore[misc]


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"^SQuAD file not found: .*nope\.json$"):
        read_squad(tmp_path / "nope.json")
    (tmp_path / "empty.jsonl").write_text("\n  \n")
    with pytest.raises(DataError, match=r"^SQuAD file is empty: .*empty\.jsonl$"):
        read_squad(tmp_path / "empty.jsonl")


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(_flat("q1", [])) + "\n{oops\n")
    with pytest.raises(DataError, match=r"d\.jsonl line 2: invalid JSON: Expecting property name"):
        read_squad(path)
    bad = tmp_path / "d.json"
    bad.write_text('{"data": [\n  {"paragraphs": ]\n}')
    with pytest.raises(DataError, match=r"d\.json: invalid JSON at line 2: Expecting value"):
        read_squad(bad)


# (records, expected message) for JSONL; the line is always the first record's or named
BAD_RECORDS = [
    (
        [{"id": "q1", "context": CONTEXT, "question": "who?"}],
        "dev.jsonl line 1: question 'q1' has no 'answers' field",
    ),
    (
        [_flat("q1", [{"text": "Broncos", "answer_start": 40}])],
        "dev.jsonl line 1: question 'q1': answer 'Broncos' at 40 lies outside the context "
        "(45 characters)",
    ),
    (
        [_flat("q1", [{"text": "Broncos", "answer_start": -1}])],
        "question 'q1': answer 'Broncos' at -1 lies outside the context",
    ),
    (
        [_flat("q1", {"text": ["Broncos"], "answer_start": [5]})],
        "dev.jsonl line 1: question 'q1': answer 'Broncos' at 5 does not match the context "
        "there ('roncos ')",
    ),
    (
        [_flat("q1", [], is_impossible=False)],
        "dev.jsonl line 1: question 'q1' is not marked is_impossible but has no answers",
    ),
    (
        [_flat("q1", [{"text": "Broncos", "answer_start": 4}], is_impossible=True)],
        "question 'q1' is marked is_impossible but has 1 answers",
    ),
    (
        [_flat("q1", []), _flat("q2", []), _flat("q1", [])],
        "dev.jsonl line 3: duplicate question id 'q1' (first at ",
    ),
    (
        [_flat("q1", {"text": ["Broncos"], "answer_start": []})],
        "question 'q1': 1 answer texts but 0 answer_start values",
    ),
    (
        [_flat("q1", [{"text": "Broncos", "answer_start": "4"}])],
        "question 'q1': answer 'Broncos' at '4' needs a text string and an integer answer_start",
    ),
    ([_flat("q1", "Broncos")], "question 'q1': 'answers' must be a list of"),
    ([_flat("q1", [{"text": "", "answer_start": 0}])], "question 'q1': empty answer text at 0"),
    ([{"context": CONTEXT, "question": "who?", "answers": []}], "line 1: question without an 'id'"),
    ([{"id": "q1", "question": "who?", "answers": []}], "question 'q1' has no 'context' string"),
    ([[1, 2]], "dev.jsonl line 1: expected a JSON object, got list"),
]


@pytest.mark.parametrize(("records", "message"), BAD_RECORDS)
def test_bad_jsonl_records(tmp_path: Path, records: list, message: str) -> None:
    with pytest.raises(DataError) as info:
        read_squad(_jsonl(tmp_path, records))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_official_question_names_file_and_id(tmp_path: Path) -> None:
    qa = {"id": "56be4db0acb8001400a502ec", "question": "who?", "is_impossible": False}
    with pytest.raises(DataError) as info:
        read_squad(_official(tmp_path, [qa]))
    expected = "dev.json: question '56be4db0acb8001400a502ec' has no 'answers' field"
    assert str(info.value).endswith(expected)
    with pytest.raises(DataError, match=r"dev\.json: question 'q1': answer 'Denver' at 4 does"):
        read_squad(_official(tmp_path, [_qa("q1", [("Denver", 4)])]))


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([1, 2], "not SQuAD JSON (expected an object with a 'data' list)"),
        ({"data": [{"title": "x"}]}, "article 1 has no 'paragraphs' list"),
        ({"data": [{"paragraphs": [{"qas": []}]}]}, "article 1 paragraph 1 needs a 'context'"),
        ({"data": [{"paragraphs": [{"context": "c", "qas": [3]}]}]}, "a non-object in 'qas'"),
        ({"data": [{"paragraphs": [{"context": "c", "qas": []}]}]}, "d.json: no questions found"),
    ],
)
def test_bad_official_structure(tmp_path: Path, doc: Any, message: str) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(DataError) as info:
        read_squad(path)
    assert message in str(info.value)


def test_bad_hub_row_names_the_row() -> None:
    rows = [
        {"id": "a", "context": "xy", "question": "q", "answers": {"text": [], "answer_start": []}},
        {
            "id": "b",
            "context": "xy",
            "question": "q",
            "answers": {"text": ["z"], "answer_start": [0]},
        },
    ]
    with pytest.raises(DataError, match=r"^squad_v2 train row 2: question 'b': answer 'z' at 0"):
        examples_from_rows(rows, "squad_v2 train")
    with pytest.raises(DataError, match=r"^squad_v2 train: no questions found$"):
        examples_from_rows([], "squad_v2 train")


def test_a_byte_that_is_not_utf8_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, [_flat("a", [])])
    path.write_bytes(path.read_bytes() + b'{"id": "caf\xe9"}\n')
    with pytest.raises(DataError, match=r"dev\.jsonl line 2: byte 0xe9 is not UTF-8"):
        read_squad(path)
