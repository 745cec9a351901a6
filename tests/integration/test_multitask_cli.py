"""A study of two custom tasks with different label counts, end to end through `loralens run`."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from loralens.results.schema import SCHEMA_VERSION, validate_results
from tests.conftest import run_cli, tiny_serving

pytestmark = pytest.mark.integration

WORDS = {
    "sentiment": (["neg", "pos"], ["awful dull mess", "lovely warm joy"]),
    "topic": (
        ["sport", "music", "food"],
        ["goal match team", "song band guitar", "bread soup cake"],
    ),
}


def write_task(folder: Path, name: str) -> Path:
    """A custom task (YAML named by path, CSV data) whose label is readable from its words."""
    labels, cues = WORDS[name]
    rows = ["text,label"]
    for i in range(90):
        k = i % len(labels)
        rows.append(f"item {i} {cues[k]} {'and more' * (i % 4)},{labels[k]}")
    (folder / f"{name}.csv").write_text("\n".join(rows) + "\n")
    spec = {
        "name": name,
        "text_fields": ["text"],
        "label_names": labels,
        "metrics": ["accuracy", "f1"] if len(labels) == 2 else ["accuracy"],
        "source": {"kind": "file", "file": f"{name}.csv", "columns": {"text": "text"}},
    }
    path = folder / f"{name}-task.yaml"  # the file name differs from the declared name
    path.write_text(yaml.safe_dump(spec))
    return path


def study_file(folder: Path, tiny: Path) -> Path:
    cfg = {
        "name": "two-tasks",
        "model": {"name": str(tiny), "max_length": 24},
        "task": {"max_train": 32, "max_val": 12, "max_test": 18},
        "training": {"batch_size": 16, "eval_steps": 1, "eval_batch_size": 32},
        "probing": {"max_examples": 8, "snapshot_every": 1},
        "study": {
            "tasks": [str(write_task(folder, "sentiment")), str(write_task(folder, "topic"))],
            "methods": ["full-ft", "lora-r4"],
            "seeds": [1, 2],
            "baselines": ["majority"],
            "variants": {
                "full-ft": {"method": "full", "training": {"learning_rate": 1e-4}},
                "lora-r4": {"method": "lora", "lora": {"rank": 4}},
            },
        },
        "serving": tiny_serving(["merged", "peft-mixed"], repeats=2),
    }
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def finished(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("multitask")
    proc = run_cli("run", str(study_file(tmp, tiny_llama_dir)), "--out", str(tmp / "run"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp / "run"


def test_two_tasks_of_different_label_counts_run_to_a_report(finished: Path) -> None:
    results = json.loads((finished / "results.json").read_text())
    assert results["study"]["tasks"] == ["sentiment", "topic"]
    assert {r["task"] for r in results["runs"]} == {"sentiment", "topic"}
    for part in (results["drift"]["summary"], results["sparsity"]["rows"], results["baselines"]):
        assert {r["task"] for r in part} == {"sentiment", "topic"}  # one name everywhere
    assert set(results["data"]) == {"sentiment", "topic"}
    anova = results["statistics"]["anova"]["accuracy"]  # both tasks' primary metric
    assert anova["response"] == "accuracy"
    assert anova["levels"]["task"] == ["sentiment", "topic"] and anova["n_obs"] == 8
    assert {r["term"] for r in anova["rows"]} == {"method", "task", "method:task", "Residual"}
    groups = {tuple(g["group"]["tasks"]): g for g in results["serving"]}
    assert set(groups) == {("sentiment",), ("topic",)}
    assert groups[("topic",)]["settings"]["num_labels"] == 3
    for group in groups.values():
        assert {r["engine"] for r in group["rows"]} == {"merged", "peft-mixed"}
        assert all(c["passed"] for c in group["correctness"])
        served = {r["adapter"] for r in group["group"]["runs"]}
        assert served <= {a["name"] for a in group["adapters"]}
    verdicts = {h["task"]: h for h in results["hypotheses"]}
    assert set(verdicts) == {"sentiment", "topic"}
    for h in verdicts.values():
        drift, serving = h["components"][1], h["components"][2]
        assert drift["n_seeds"] == {"lora-r4": 2, "full-ft": 2}  # the compared variants
        assert serving["n_seeds"]["adapters"] > 0
    assert results["missing_stages"] == []
    report = (finished / "report.md").read_text()
    assert "Serving adapters of topic (3 labels)" in report
    assert "task: sentiment, topic" in report  # the ANOVA names its tasks
    assert "2 tasks" in report and ".yaml" not in report.split("## Environment")[0]


def test_results_validate_and_the_report_refuses_a_broken_file(
    finished: Path, tmp_path: Path
) -> None:
    results = json.loads((finished / "results.json").read_text())
    validate_results(results)  # the producer wrote what the schema says
    del results["runs"][0]["seed"]
    (tmp_path / "results.json").write_text(json.dumps(results))
    proc = run_cli("report", str(tmp_path))
    assert proc.returncode == 2
    expected = f"does not match the results schema {SCHEMA_VERSION}: runs.0.seed: Field required"
    assert expected in proc.stderr
    assert not (tmp_path / "report.html").exists()
    # An older schema is refused with the version found, the one read, and how to get it.
    results["schema_version"] = SCHEMA_VERSION - 1
    (tmp_path / "results.json").write_text(json.dumps(results))
    proc = run_cli("report", str(tmp_path))
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("loralens: error:")]
    assert proc.returncode == 2 and "rerun `loralens run`" in line
    assert f"schema version {SCHEMA_VERSION - 1}; this loralens reads version" in line


def test_the_report_renders_only_the_analysis_own_results(finished: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    (run / ".report-killed").mkdir()  # left by a killed report write
    proc = run_cli("report", str(run))
    assert proc.returncode == 0, proc.stderr
    assert "verified: equal to artifacts/analysis-" in (run / "report.md").read_text()
    assert not (run / ".report-killed").exists()
    results = json.loads((run / "results.json").read_text())
    results["runs"][0]["test"]["accuracy"] += 0.05  # one number edited by hand
    (run / "results.json").write_text(json.dumps(results))
    edited = run_cli("report", str(run))
    assert edited.returncode == 2 and "edited by hand" in edited.stderr


def test_a_failed_serving_stage_still_gives_results_naming_it(
    finished: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    study = yaml.safe_load((finished.parent / "study.yaml").read_text())
    study["serving"]["engines"] = ["fused"]
    study["serving"]["max_rank"] = 2  # below the adapters' rank 4: the fused engine refuses
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    proc = run_cli("run", str(path), "--out", str(run))
    assert proc.returncode == 1
    assert "serve/2-labels" in proc.stderr and "serving.max_rank" in proc.stderr
    assert "report without them" in proc.stderr
    results = json.loads((run / "results.json").read_text())
    missing = {m["stage"]: m["reason"] for m in results["missing_stages"]}
    assert set(missing) == {"serve/2-labels", "serve/3-labels"}
    assert all("serving.max_rank" in why for why in missing.values())
    assert results["serving"] == [] and results["statistics"]["anova"]["accuracy"]["rows"]
    for h in results["hypotheses"]:
        serving = h["components"][2]
        # the tiny random models may not beat the majority class: then "not applicable", with
        # its reason, over what the missing serving stage alone gives
        assert serving["status"] == "inconclusive" or h["not_applicable_reason"]
        assert "no serving result: stage serve/" in serving["sentence"]
    assert "Stage serve/2-labels did not finish" in (run / "report.md").read_text()
    again = run_cli("run", str(path), "--out", str(run))  # retries serving, analysis cached
    assert again.returncode == 1 and "report without them" in again.stderr
    no_serving = run_cli("run", str(path), "serving.engines=[]", "--out", str(run))
    assert no_serving.returncode == 0, no_serving.stderr[-2000:]
    results = json.loads((run / "results.json").read_text())
    assert results["missing_stages"] == []
    for h in results["hypotheses"]:
        assert "serving.engines is empty" in h["components"][2]["sentence"]


def test_every_variant_gets_its_own_comparison_and_anova_level(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    study = yaml.safe_load(study_file(tmp_path, tiny_llama_dir).read_text())
    study["study"]["methods"] = ["full-ft", "lora-r4", "lora-r8", "adalora-r8"]
    study["study"]["variants"] |= {
        "lora-r8": {"method": "lora", "lora": {"rank": 8}},
        "adalora-r8": {"method": "adalora", "adalora": {"init_r": 8, "target_r": 4}},
    }
    study["study"]["baselines"] = []
    study["serving"]["engines"] = []
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(study))
    proc = run_cli("run", str(tmp_path / "study.yaml"), "--out", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    pairs = [("lora-r4", "full-ft"), ("lora-r8", "full-ft"), ("adalora-r8", "full-ft")]
    assert [tuple(p) for p in results["decisions"]["comparisons"]] == pairs
    verdicts = {(v["task"], v["treatment"], v["reference"]) for v in results["hypotheses"]}
    assert verdicts == {(t, *p) for t in ("sentiment", "topic") for p in pairs}
    levels = results["statistics"]["anova"]["accuracy"]["levels"]["method"]
    assert levels == ["adalora-r8", "full-ft", "lora-r4", "lora-r8"]
    report = (tmp_path / "run" / "report.md").read_text()
    assert all(f"topic · {t} vs {r}" in report for t, r in pairs)
