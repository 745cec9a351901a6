"""Extractive QA tasks: spec validation, SQuAD file loading, bad input, split fingerprints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from loralens.data import Example, get_task, load_task
from loralens.data.spec import TaskSpec
from loralens.data.splits import Splits
from loralens.errors import DataError
from tests.qa_data import QA_METRICS, squad_doc, write_qa_task

QA_SPEC = {
    "name": "qa",
    "kind": "extractive_qa",
    "text_fields": ["context", "question"],
    "metrics": ["squad_f1", "exact_match"],
    "primary_metric": "squad_f1",
    "source": {"kind": "file", "file": "train.json"},
}


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"metrics": ["accuracy"], "primary_metric": "accuracy"}, "not extractive_qa test metrics"),
        ({"metrics": ["squad_f1", "answer_nll"]}, r"\['answer_nll'\] are not extractive_qa"),
        ({"text_fields": ["question", "context"]}, r"text_fields \['context', 'question'\]"),
        ({"label_names": ["a", "b"]}, "has no label_names or prompts"),
    ],
)
def test_qa_spec_rejects(update: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TaskSpec.model_validate({**QA_SPEC, **update})


def test_a_classification_task_may_not_name_qa_metrics() -> None:
    spec = get_task("mrpc").model_dump()
    with pytest.raises(ValidationError, match="not classification test metrics; allowed: accura"):
        TaskSpec.model_validate({**spec, "metrics": ["squad_f1"], "primary_metric": "squad_f1"})


def test_builtin_squad_v2_is_a_hub_qa_task() -> None:
    spec = get_task("squad_v2")
    assert (spec.kind, spec.primary_metric) == ("extractive_qa", "squad_f1")
    assert spec.source.kind == "hub"
    assert spec.source.hub["path"] == "rajpurkar/squad_v2"


def test_qa_task_from_squad_json(tmp_path: Path) -> None:
    data = load_task(str(write_qa_task(tmp_path, n_train=60, n_test=20)), max_test=12)
    s = data.splits
    assert len(s.train) + len(s.val) == 60 and len(s.test) == 12  # budgets count questions
    assert len(s.val) == 6  # val carved from train (10%)
    ex = s.test[0]
    assert ex.label == 0 and ex.id.startswith("q1") and ex.texts[1].endswith("?")
    for e in [*s.train, *s.test]:
        if e.answers:
            assert e.texts[0][e.answer_starts[0] :].startswith(e.answers[0])
    assert any(not e.answers for e in s.test)  # unanswerable questions survive


def test_qa_task_from_jsonl_and_no_test_file(tmp_path: Path) -> None:
    doc = squad_doc(40)
    rows = [
        {**qa, "context": p["context"]} for p in doc["data"][0]["paragraphs"] for qa in p["qas"]
    ]
    (tmp_path / "all.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    source = {"kind": "file", "file": "all.jsonl"}
    (tmp_path / "t.yaml").write_text(
        json.dumps({**QA_SPEC, "metrics": QA_METRICS, "source": source})
    )
    data = load_task(str(tmp_path / "t.yaml"))
    s = data.splits
    assert len(s.train) + len(s.val) + len(s.test) == 40 and s.notes


def _broken(tmp_path: Path, break_it) -> Path:
    path = write_qa_task(tmp_path)
    doc = json.loads((tmp_path / "train.json").read_text())
    break_it(doc["data"][0]["paragraphs"][4]["qas"][0])
    (tmp_path / "train.json").write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (lambda qa: qa.pop("answers"), "question 'q4' has no 'answers' field"),
        (
            lambda qa: qa["answers"][0].update(answer_start=400),
            "question 'q4': answer 'black' at 400 lies outside the context",
        ),
    ],
)
def test_bad_squad_input_is_one_clear_error(tmp_path: Path, break_it, message: str) -> None:
    with pytest.raises(DataError, match=message) as err:
        load_task(str(_broken(tmp_path, break_it)))
    assert "train.json" in str(err.value) and "\n" not in str(err.value)


def test_qa_from_a_source_kind_it_cannot_read(tmp_path: Path) -> None:
    spec = {**QA_SPEC, "source": {"kind": "glue", "tsv": {"folder": "X"}}}
    (tmp_path / "t.yaml").write_text(json.dumps(spec))
    with pytest.raises(DataError, match="loads from source kind 'file' or 'hub', not 'glue'"):
        load_task(str(tmp_path / "t.yaml"))


def _legacy_fingerprint(splits: Splits) -> str:
    """The fingerprint as computed before examples could carry answers."""
    import hashlib

    h = hashlib.sha256()
    for name in ("train", "val", "test"):
        for ex in getattr(splits, name):
            h.update(json.dumps([name, ex.texts, ex.label]).encode())
    return h.hexdigest()


def test_fingerprint_of_classification_is_unchanged_and_qa_includes_answers() -> None:
    plain = Splits([Example(("a b",), 1)], [Example(("c",), 0)], [Example(("d",), 1)])
    assert plain.fingerprint() == _legacy_fingerprint(plain)
    qa = [Example(("ctx red", "q?"), 0, ("red",), (4,), "q1")]
    other = [Example(("ctx red", "q?"), 0, ("ctx",), (0,), "q1")]
    assert Splits(qa, qa, qa).fingerprint() != Splits(other, other, other).fingerprint()
    assert Splits(qa, qa, qa).fingerprint() != _legacy_fingerprint(Splits(qa, qa, qa))


def _hub_rows(n: int, offset: int) -> list[dict]:
    """Rows in the `rajpurkar/squad_v2` schema."""
    rows = []
    for p in squad_doc(n, offset)["data"][0]["paragraphs"]:
        (qa,) = p["qas"]
        answers = {
            "text": [a["text"] for a in qa["answers"]],
            "answer_start": [a["answer_start"] for a in qa["answers"]],
        }
        row = {"id": qa["id"], "title": "boxes", "context": p["context"]}
        rows.append(row | {"question": qa["question"], "answers": answers})
    return rows


def test_squad_v2_from_the_hub_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    calls = []

    def fake_load(path, name=None):
        calls.append((path, name))
        return {"train": _hub_rows(40, 0), "validation": _hub_rows(12, 1000)}

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    data = load_task("squad_v2")
    assert calls == [("rajpurkar/squad_v2", None)] and data.origin == "rajpurkar/squad_v2"
    assert len(data.splits.test) == 12 and sum(not e.answers for e in data.splits.test) == 3


def test_hub_failure_is_one_line_pointing_to_files(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    def offline(path, name=None):
        raise ConnectionError("no network\nmore")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataError, match=r"could not load rajpurkar/squad_v2 .*source kind 'file'"):
        load_task("squad_v2")
