"""`loralens run` reads every task's data before any work: bad data is one line, exit 2, and
nothing is written (no run folder, lock, plan or logs)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from loralens.cli import main
from tests.qa_data import write_qa_task

TASK = """name: reviews
text_fields: [text]
label_names: [neg, pos]
source: {{kind: file, file: {file}, columns: {{text: review, label: stars}}}}
"""
LM_TASK = """name: lm
kind: language_modeling
text_fields: [text]
metrics: [nll, perplexity]
primary_metric: nll
source: {{kind: file, file: {file}}}
"""


def _rows(n: int = 80) -> list[tuple[str, str]]:
    return [(f"review number {i} is here", "pos" if i % 3 else "neg") for i in range(n)]


def _csv(folder: Path, rows: list[tuple[str, str]], tail: bytes = b"") -> Path:
    """A classification task over a CSV of `rows` (and raw bytes appended)."""
    body = "review,stars\n" + "".join(f"{t},{label}\n" for t, label in rows)
    (folder / "data.csv").write_bytes(body.encode() + tail)
    (folder / "task.yaml").write_text(TASK.format(file=folder / "data.csv"))
    return folder / "task.yaml"


def _jsonl_bad_line(folder: Path) -> Path:
    lines = [json.dumps({"review": t, "stars": label}) for t, label in _rows()]
    (folder / "data.jsonl").write_text("\n".join([*lines[:5], "{not json", *lines[5:]]) + "\n")
    (folder / "task.yaml").write_text(TASK.format(file=folder / "data.jsonl"))
    return folder / "task.yaml"


def _lm_empty(folder: Path) -> Path:
    (folder / "t.txt").write_text("\n \n")
    (folder / "lm.yaml").write_text(LM_TASK.format(file=folder / "t.txt"))
    return folder / "lm.yaml"


def _qa_without_answers(folder: Path) -> Path:
    path = write_qa_task(folder)
    doc = json.loads((folder / "train.json").read_text())
    del doc["data"][0]["paragraphs"][2]["qas"][0]["answers"]
    (folder / "train.json").write_text(json.dumps(doc))
    return path


def _one_token_probe_inputs(folder: Path) -> Path:
    return _csv(folder, [("ok" if i % 2 else t, label) for i, (t, label) in enumerate(_rows())])


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "a non-UTF-8 byte": (
        lambda f: _csv(f, _rows(), b"caf\xe9,pos\n"),
        "data.csv line 82: byte 0xe9 is not UTF-8",
    ),
    "a bad JSONL line": (_jsonl_bad_line, "data.jsonl line 6: not valid JSON"),
    "one class": (lambda f: _csv(f, [(t, "pos") for t, _ in _rows()]), "has one class (pos)"),
    "3 rows": (lambda f: _csv(f, _rows(3)), "fewer than 4 (the least a training run needs)"),
    "empty texts": (
        lambda f: _csv(f, [("" if i in (40, 41) else t, lb) for i, (t, lb) in enumerate(_rows())]),
        "2 train input(s) have no token under",
    ),
    "one-token probe inputs": (
        _one_token_probe_inputs,
        "data.csv rows 2, 4, 6, 8, 10 and 35 more), and mean_nosink leaves out the first "
        "probing.sink_tokens=1: none would be left",
    ),
    "an empty LM text": (_lm_empty, "t.txt contains no text (no non-empty document)"),
    "a QA row without answers": (_qa_without_answers, "question 'q2' has no 'answers' field"),
}


def _margins() -> dict:
    """A margin for the LM and QA primary metrics, where the config asks for one per metric."""
    from loralens.config_sections import ReportConfig

    if "margins" not in ReportConfig.model_fields:
        return {}
    return {"report": {"margins": {"nll": 0.1, "squad_f1": 0.03}}}


def _study(folder: Path, task: Path, tiny: Path) -> Path:
    cfg = {
        "name": "hostile",
        "model": {"name": str(tiny), "max_length": 32, "head": "fresh"},
        "task": {"max_train": 48, "max_val": 16, "max_test": 32},
        "probing": {"max_examples": 12},
        **_margins(),
        "study": {"tasks": [str(task)], "methods": ["lora"], "seeds": [1], "baselines": []},
        "serving": {"engines": []},
    }
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize("case", list(CASES))
def test_bad_task_data_is_refused_before_any_work(
    case: str, tmp_path: Path, tiny_llama_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, expected = CASES[case]
    (tmp_path / "data").mkdir()
    study = _study(tmp_path, make(tmp_path / "data"), tiny_llama_dir)
    out = tmp_path / "run"
    assert main(["run", str(study), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if x.startswith("loralens: error:")]
    assert expected in line and "Traceback" not in err
    assert not out.exists()  # no run folder, lock, plan, logs or partial stage


def test_too_short_counts_the_tokens_a_model_reads() -> None:
    from loralens.models.load import load_tokenizer
    from loralens.study.preflight import too_short

    tok = load_tokenizer("smollm2-135m")
    assert too_short(["", "ok", "a longer input here"], tok, 32, 1) == [0]
    assert too_short(["", "ok", "a longer input here"], tok, 32, 2) == [0, 1]
    assert too_short(["a longer input here"], tok, 1, 2) == [0]  # cut to max_length first
