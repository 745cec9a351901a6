"""Variant summary of the analysis: Pareto front, mean ± SD across seeds, AdaLoRA rank rows."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from loralens.config import load_config
from loralens.results.collect import collect
from loralens.results.variants import (
    adalora_rank_rows,
    mean_sd,
    pareto_front,
    split_module,
    variant_summary,
)
from loralens.training.folder import TrainingRun
from tests.conftest import run_metrics

NAN = math.nan


@pytest.mark.parametrize(
    ("points", "front"),
    [
        # (cost, score): cheaper-and-better dominates; the staircase survives.
        ([(1, 0.7), (2, 0.8), (4, 0.9)], [True, True, True]),
        ([(1, 0.7), (2, 0.6), (4, 0.9)], [True, False, True]),
        ([(1, 0.9), (2, 0.8), (4, 0.85)], [True, False, False]),
        # equal cost: the better score wins; exact ties are both on the front
        ([(2, 0.8), (2, 0.7)], [True, False]),
        ([(2, 0.8), (2, 0.8)], [True, True]),
        # non-finite points are never on the front and dominate nothing
        ([(1, NAN), (2, 0.5), (NAN, 0.9)], [False, True, False]),
        ([], []),
    ],
)
def test_pareto_front_known_points(points: list, front: list) -> None:
    assert pareto_front(points) == front


def test_mean_sd_ignores_missing_values() -> None:
    assert mean_sd([1.0, None, 3.0, NAN]) == {"mean": 2.0, "sd": math.sqrt(2.0), "n": 2}
    assert mean_sd([5]) == {"mean": 5.0, "sd": None, "n": 1}
    assert mean_sd([None, True]) == {"mean": None, "sd": None, "n": 0}


def _run(method: str, seed: int, acc: float, params: int, base: str = "lora") -> dict:
    return {
        "task": "rte",
        "method": method,
        "base_method": base,
        "seed": seed,
        "test": {"accuracy": acc, "f1": acc - 0.1},
        "trainable_params": params,
        "trainable_share": params / 1000,
        "wall_time_s": 10.0 + seed,
        "peak_rss_mb": 100.0,
        "train_tokens_per_s": 50.0,
        "artifact": f"artifacts/train-{method}-{seed}",
    }


def test_variant_summary_across_seeds_and_front() -> None:
    runs = [
        _run("lora-r4", 2, 0.70, 4),
        _run("lora-r4", 1, 0.72, 4),
        _run("lora-r16", 1, 0.69, 16),
        _run("lora-r16", 2, 0.69, 16),
        _run("full-ft", 1, 0.80, 1000, base="full"),
    ]
    rows = {r["method"]: r for r in variant_summary(runs, {r["task"]: "accuracy" for r in runs})}
    r4 = rows["lora-r4"]
    assert r4["seeds"] == [1, 2]
    assert r4["artifact"] == ["artifacts/train-lora-r4-1", "artifacts/train-lora-r4-2"]
    assert r4["test"]["accuracy"]["mean"] == pytest.approx(0.71)
    assert r4["test"]["accuracy"]["sd"] == pytest.approx(math.sqrt(2) * 0.01)
    assert r4["test"]["f1"]["n"] == 2
    assert r4["wall_time_s"] == {"mean": 11.5, "sd": pytest.approx(math.sqrt(0.5)), "n": 2}
    assert r4["trainable_params"]["mean"] == 4
    assert rows["full-ft"]["test"]["accuracy"]["sd"] is None
    on_front = {m: r["pareto"]["on_front"] for m, r in rows.items()}
    assert on_front == {"lora-r4": True, "lora-r16": False, "full-ft": True}
    assert rows["lora-r4"]["pareto"] == {
        "cost": "trainable_params",
        "metric": "accuracy",
        "on_front": True,
    }


def test_pareto_front_is_per_task() -> None:
    runs = [_run("lora-r4", 1, 0.7, 4), {**_run("lora-r16", 1, 0.6, 16), "task": "mrpc"}]
    assert all(
        r["pareto"]["on_front"]
        for r in variant_summary(runs, {r["task"]: "accuracy" for r in runs})
    )


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("model.layers.3.self_attn.q_proj", (3, "self_attn.q_proj")),
        ("base_model.model.model.layers.12.mlp.down_proj", (12, "mlp.down_proj")),
        ("encoder.layer.5.attention.self.query", (5, "attention.self.query")),
        ("score", (None, "score")),
    ],
)
def test_split_module(name: str, split: tuple) -> None:
    assert split_module(name) == split


def test_adalora_rank_rows() -> None:
    ident = {"task": "rte", "method": "adalora", "seed": 1}
    rows = adalora_rank_rows(
        ident,
        {"model.layers.1.self_attn.v_proj": 3, "model.layers.0.self_attn.q_proj": 5},
        "artifacts/train-x/adalora_rank_pattern.json",
    )
    assert [(r["layer"], r["module_type"], r["rank"]) for r in rows] == [
        (0, "self_attn.q_proj", 5),
        (1, "self_attn.v_proj", 3),
    ]
    assert all(r["artifact"].endswith("adalora_rank_pattern.json") for r in rows)
    assert rows[0]["task"] == "rte" and rows[0]["seed"] == 1


def test_collect_carries_the_rank_pattern_with_its_artifact(tmp_path: Path) -> None:
    folder = tmp_path / "artifacts" / "train-abc"
    folder.mkdir(parents=True)
    run = TrainingRun(folder)
    metrics = run_metrics(task="rte", method="adalora", seed=7, test={"accuracy": 0.6})
    run.write_config(load_config(None, ["method=adalora", "training.learning_rate=3e-4"]))
    run.write_json(run.DATA, {"head": {"mode": "prompt"}})
    run.write_json(run.METRICS, metrics.to_dict())
    run.write_predictions([{"pred": 1, "label": 0}])
    run.write_json(run.RANK_PATTERN, {"model.layers.2.mlp.up_proj": 4})
    cells = {"train/rte/ada-r8/7": {"kind": "train", "task": "rte", "variant": "ada-r8", "seed": 7}}
    got = collect({"train/rte/ada-r8/7": folder}, cells)
    assert got["train"][0]["method"] == "ada-r8"
    assert (got["train"][0]["learning_rate"], got["train"][0]["head"]) == (3e-4, "prompt")
    (row,) = got["adalora"]
    assert row == {
        "task": "rte",
        "method": "ada-r8",
        "seed": 7,
        "module": "model.layers.2.mlp.up_proj",
        "layer": 2,
        "module_type": "mlp.up_proj",
        "rank": 4,
        "artifact": "artifacts/train-abc/adalora_rank_pattern.json",
    }
