"""A language-modelling study with forgetting, end to end through `loralens run` (tiny model)."""

import json
import math
from pathlib import Path

import pytest
import yaml

from loralens.results.schema import validate_results
from tests.conftest import run_cli

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORDS = [
    "the",
    "a",
    "river",
    "stone",
    "light",
    "over",
    "under",
    "quick",
    "slow",
    "bird",
    "sings",
    "water",
    "runs",
]


def write_lm_task(folder: Path, name: str, seed: int) -> Path:
    """A custom language-modelling task over a text file of generated paragraphs."""
    import random

    rng = random.Random(seed)
    paragraphs = [" ".join(rng.choice(WORDS) for _ in range(40)) for _ in range(60)]
    (folder / f"{name}.txt").write_text("\n\n".join(paragraphs) + "\n")
    spec = {
        "name": name,
        "kind": "language_modeling",
        "text_fields": ["text"],
        "metrics": ["nll", "perplexity"],
        "primary_metric": "nll",
        "source": {"kind": "file", "file": f"{name}.txt"},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def study_file(folder: Path, tiny: Path) -> Path:
    cfg = {
        "name": "tiny-generative",
        "model": {"name": str(tiny), "max_length": 32},
        "task": {"max_train": 32, "max_val": 8, "max_test": 12},
        "training": {"batch_size": 8, "eval_steps": 2, "eval_batch_size": 16},
        "probing": {"max_examples": 12, "snapshot_every": 2},
        "study": {
            "tasks": [str(write_lm_task(folder, "river", 0))],
            "methods": ["full-ft", "lora-r4"],
            "seeds": [1, 2, 3],
            "baselines": ["zero_shot"],
            "variants": {
                "full-ft": {"method": "full", "training": {"learning_rate": 1e-3}},
                "lora-r4": {"method": "lora", "lora": {"rank": 4}},
            },
            "forgetting": {
                "text": str(write_lm_task(folder, "general", 1)),
                "tasks": ["rotten_tomatoes"],
                "max_windows": 6,
                "max_examples": 16,
            },
        },
        "serving": {"engines": []},
        "report": {"margins": {"nll": 0.03}},
    }
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def finished(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("generative")
    proc = run_cli("run", str(study_file(tmp, tiny_llama_dir)), "--out", str(tmp / "run"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp / "run"


def test_runs_report_perplexity_and_the_base_model_is_the_baseline(finished: Path) -> None:
    results = json.loads((finished / "results.json").read_text())
    validate_results(results)
    assert len(results["runs"]) == 6
    for run in results["runs"]:
        assert run["test"]["perplexity"] == pytest.approx(math.exp(run["test"]["nll"]))
    (base,) = results["baselines"]
    assert base["name"] == "zero_shot" and "stride 16" in base["detail"]
    assert results["decisions"]["greater_is_better"] == {"river": False}
    (verdict,) = results["hypotheses"]
    perf = next(c for c in verdict["components"] if c["name"].startswith("Performance"))
    assert perf["metric"] == "nll"


def test_forgetting_is_measured_per_run_against_one_base(finished: Path) -> None:
    results = json.loads((finished / "results.json").read_text())
    fg = results["forgetting"]
    assert fg["base"]["text"]["task"] == "general"
    assert len(fg["rows"]) == 6
    for row in fg["rows"]:
        measures = {p["measure"]: p for p in row["probes"]}
        assert set(measures) == {"text_nll", "zero_shot:rotten_tomatoes"}
        text = measures["text_nll"]
        assert text["base"] == fg["base"]["text"]["nll"]
        assert text["change"] == pytest.approx(text["value"] - text["base"])
    tested = {t["measure"] for t in fg["tests"]}
    assert tested == {"text_nll", "zero_shot:rotten_tomatoes"}
    text_test = next(t for t in fg["tests"] if t["measure"] == "text_nll")
    assert len(text_test["treatment_values"]) == len(text_test["reference_values"]) == 3


def test_the_report_shows_forgetting_beside_drift(finished: Path) -> None:
    report = (finished / "report.md").read_text()
    assert "Forgetting against the base model" in report
    assert "Forgetting: the methods compared" in report
    assert (finished / "figures" / "forgetting_vs_drift.png").is_file()
    assert "0.03 nats worse than full fine-tuning" in report  # the margin in its unit
