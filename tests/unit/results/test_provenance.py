"""The study block: caveats from the model registry and the budget, timings from manifests."""

from __future__ import annotations

import json
from pathlib import Path

from loralens.cli import config_path
from loralens.config import load_config
from loralens.results.provenance import budget_caveats, model_caveats, stage_times, study_block


def test_packaged_smollm2_carries_its_quantization_caveat() -> None:
    caveats = model_caveats("smollm2-135m", "minilm-l6")
    assert len(caveats) == 1 and "4-bit" in caveats[0] and caveats[0].startswith("smollm2-135m")
    assert model_caveats("org/some-hub-model", None) == []


def test_budget_caveats_name_the_caps_that_apply() -> None:
    config = {
        "task": {"max_train": 480, "max_val": None, "max_test": 400},
        "model": {"max_length": 48},
        "training": {"max_steps": 30, "epochs": 1.0},
    }
    first, second = budget_caveats(config)
    assert "480 training" in first and "400 test" in first and "validation" not in first
    assert "48 tokens" in second and "30 steps" in second
    config["training"]["max_steps"] = -1
    assert "1.0 epoch" in budget_caveats(config)[1]


def _artifact(root: Path, name: str, started: float, seconds: float) -> Path:
    path = root / name
    path.mkdir()
    timings = {"started": started, "seconds": seconds}
    (path / "manifest.json").write_text(json.dumps({"timings": timings}))
    return path


def test_stage_times_take_earliest_start_and_sum_of_seconds(tmp_path: Path) -> None:
    inputs = {
        "a": _artifact(tmp_path, "a", 100.0, 5.0),
        "b": _artifact(tmp_path, "b", 90.0, 7.5),
        "c": tmp_path / "missing",
    }
    assert stage_times(inputs) == (90.0, 12.5)
    assert stage_times({}) == (None, 0.0)


def test_study_block_of_the_quickstart(tmp_path: Path) -> None:
    config = load_config(config_path("quickstart")).model_dump(mode="json")
    artifacts = {"a": _artifact(tmp_path, "a", 0.0, 3.0)}
    block = study_block(config, ["rotten_tomatoes"], artifacts, {"python": "3.11"})
    assert block["name"] == "quickstart" and block["model"] == "smollm2-135m"
    assert block["methods"] == ["full-ft", "lora-r8"] and block["seeds"] == [42, 1337, 2024]
    assert any("4-bit" in c for c in block["caveats"])
    assert block["started"] == "1970-01-01T00:00:00Z" and block["compute_time_s"] == 3.0
    assert block["config"]["report"]["max_accuracy_loss"] == 0.03
