"""An extractive QA (SQuAD v2 format) study end to end through `loralens run`, and bad input
through `loralens train`, on the tiny random Llama."""

import json
from pathlib import Path

import pytest
import yaml

from loralens.results.schema import validate_results
from tests.conftest import run_cli
from tests.qa_data import QA_METRICS, squad_doc, write_qa_task

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def study_file(folder: Path, tiny: Path) -> Path:
    cfg = {
        "name": "qa-tiny",
        "model": {"name": str(tiny), "max_length": 64},
        "task": {"max_train": 16, "max_val": 4, "max_test": 12},
        "training": {"batch_size": 8, "eval_steps": 1, "eval_batch_size": 8},
        "probing": {"max_examples": 8, "snapshot_every": 1},
        "study": {
            "tasks": [str(write_qa_task(folder, n_train=40, n_test=12))],
            "methods": ["full", "lora"],
            "seeds": [1, 2, 3],
            "baselines": ["zero_shot", "k_shot"],
        },
        "serving": {"engines": []},
    }
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def finished(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("qa-study")
    proc = run_cli("run", str(study_file(tmp, tiny_llama_dir)), "--out", str(tmp / "run"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp / "run"


def test_qa_study_scores_every_run_with_squad_metrics(finished: Path) -> None:
    results = json.loads((finished / "results.json").read_text())
    validate_results(results)
    assert len(results["runs"]) == 6 and results["decisions"]["primary_metric"] == {
        "boxes": "squad_f1"
    }
    for run in results["runs"]:
        assert list(run["test"]) == QA_METRICS  # overall and the HasAns/NoAns breakdown
        assert all(0.0 <= v <= 1.0 for v in run["test"].values())
        assert run["val_best"] > 0  # answer_nll of the selected checkpoint
    baselines = {b["name"]: b for b in results["baselines"]}
    assert set(baselines) == {"zero_shot", "k_shot"}
    assert "12 questions (9 answerable, 3 unanswerable)" in baselines["zero_shot"]["detail"]
    assert "2 training demonstrations (seed 0)" in baselines["k_shot"]["detail"]
    assert results["data"]["boxes"]["splits"]["test"]["answerable"] == 9
    assert {r["method"] for r in results["drift"]["summary"]} == {"full", "lora"}
    assert any(r["val_score"] is not None for r in results["drift"]["summary"])


def test_qa_report_shows_em_f1_and_the_breakdown(finished: Path) -> None:
    report = (finished / "report.md").read_text()
    assert "Test SQuAD F1 by task" in report
    header = next(line for line in report.splitlines() if "| Exact match |" in line)
    for label in ("HasAns F1", "HasAns EM", "NoAns F1", "NoAns EM", "Val (best)"):
        assert label in header
    assert "k-shot (baseline)" in report and "zero-shot (baseline)" in report
    assert (finished / "report.html").stat().st_size > 500


def test_bad_squad_file_fails_train_in_one_line_writing_nothing(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    # a span outside its context fails the same way (tests/unit/data/test_qa.py)
    task = write_qa_task(tmp_path)
    doc = squad_doc(60)
    del doc["data"][0]["paragraphs"][5]["qas"][0]["answers"]
    (tmp_path / "train.json").write_text(json.dumps(doc))
    out = tmp_path / "run"
    proc = run_cli(
        "train",
        "quickstart",
        f"task.name={task}",
        f"model.name={tiny_llama_dir}",
        "model.max_length=64",
        "--out",
        str(out),
    )
    assert proc.returncode != 0
    err = proc.stderr.strip()
    assert err.startswith("loralens: error: ") and "train.json" in err
    assert "question 'q5' has no 'answers' field" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()
