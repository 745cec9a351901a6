"""What learned: each variant against the baselines; no verdict for models that did not."""

from __future__ import annotations

from pathlib import Path

import pytest

from loralens.results.over_baselines import gate, over_baseline_rows
from tests.unit.report._produced import produce
from tests.unit.report._synthetic import synthetic_dict, unlearnable

ALPHA = 0.05


def _run(task: str, method: str, seed: int, **test: float) -> dict:
    """A run record as the analysis collects it (only what `over_baseline_rows` reads)."""
    return {"task": task, "method": method, "seed": seed, "test": test}


def _baseline(task: str, name: str, **test: float) -> dict:
    return {"task": task, "name": name, "test": test, "ci": None, "std": None}


def test_the_best_baseline_of_a_lower_is_better_metric_is_the_smallest() -> None:
    # planted NLL (nats): zero-shot 3.0 is the best baseline; random 3.5 is the largest, which
    # a max would pick. Full fine-tuning ends near 2.8: 0.2 nats better than zero-shot.
    runs = [_run("lm", "full-ft", s, nll=v) for s, v in enumerate((2.80, 2.82, 2.78))]
    runs += [_run("lm", "lora-r8", s, nll=v) for s, v in enumerate((3.10, 3.12, 3.08))]
    baselines = [
        _baseline("lm", "majority", nll=3.2),
        _baseline("lm", "random", nll=3.5),
        _baseline("lm", "zero_shot", nll=3.0),
    ]
    rows = {r["method"]: r for r in over_baseline_rows(runs, baselines, {"lm": "nll"}, ALPHA)}
    full, lora = rows["full-ft"], rows["lora-r8"]
    assert full["best_baseline"] == "zero_shot" and not full["greater_is_better"]
    best = full["over_best"]
    assert best["estimate"] == pytest.approx(-0.2)
    assert best["ci_low"] < best["estimate"] < best["ci_high"] < 0  # better: all below zero
    assert best["confidence_level"] == pytest.approx(1 - 2 * ALPHA)
    assert full["beats_majority"] is True and full["below_zero_shot"] is False
    # LoRA's NLL is above zero-shot's (worse) but below majority's: learned, and flagged
    assert lora["over_best"]["estimate"] == pytest.approx(0.1)
    assert lora["beats_majority"] is True and lora["below_zero_shot"] is True


@pytest.mark.parametrize(
    ("scores", "beats"),
    [
        ((0.58, 0.58, 0.58), False),  # predicts the majority class in every seed
        ((0.55, 0.57, 0.56), False),  # below majority
        ((0.57, 0.62, 0.60), False),  # mean above, but the interval reaches below 0.58
        ((0.66, 0.68, 0.67), True),
        ((0.66,), True),  # one seed: no interval, the mean decides
    ],
)
def test_beating_majority_needs_the_interval_above_it(scores: tuple, beats: bool) -> None:
    runs = [_run("t", "lora", s, accuracy=v) for s, v in enumerate(scores)]
    baselines = [_baseline("t", "majority", accuracy=0.58)]
    (row,) = over_baseline_rows(runs, baselines, {"t": "accuracy"}, ALPHA)
    assert row["beats_majority"] is beats
    reason, below = gate([row], "t", ["lora", "full"])
    assert bool(reason) is not beats and below == []
    if not beats:
        assert reason.startswith("lora does not beat the majority baseline on test: mean accuracy")


def test_without_a_majority_baseline_learning_is_not_checked() -> None:
    runs = [_run("t", "lora", s, accuracy=v) for s, v in enumerate((0.3, 0.31))]
    zero_shot = [_baseline("t", "zero_shot", accuracy=0.7)]
    (row,) = over_baseline_rows(runs, zero_shot, {"t": "accuracy"}, ALPHA)
    assert row["beats_majority"] is None and row["below_zero_shot"] is True
    assert gate([row], "t", ["lora"]) == ("", ["lora"])


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """results.json of a study whose task mrpc no model learned; rotten_tomatoes learned."""
    root: Path = tmp_path_factory.mktemp("unlearnable")
    return produce(root, unlearnable(synthetic_dict(), "mrpc"))


def test_a_task_no_model_learned_is_not_applicable_never_supported(planted: dict) -> None:
    mrpc = next(v for v in planted["hypotheses"] if v["task"] == "mrpc")
    assert mrpc["status"] == "not applicable"
    assert "full-ft does not beat the majority baseline" in mrpc["not_applicable_reason"]
    assert "lora-r8 does not beat the majority baseline" in mrpc["not_applicable_reason"]
    assert {c["status"] for c in mrpc["components"]} == {"not applicable"}
    # the tests alone would have said "supported": the gate, not the data, decides here
    assert mrpc["sentence"].startswith("Not applicable: ")
    alone = "What the tests alone say: H = performance AND (drift OR serving): supported"
    assert alone in mrpc["sentence"]
    # mrpc's models are below its zero-shot baseline too: flagged beside the verdict
    assert mrpc["below_zero_shot"] == ["lora-r8", "full-ft"]


def test_a_learned_task_keeps_its_normal_verdict(planted: dict) -> None:
    rt = next(v for v in planted["hypotheses"] if v["task"] == "rotten_tomatoes")
    assert rt["status"] == "supported" and rt["not_applicable_reason"] == ""
    assert rt["below_zero_shot"] == []
    rows = [r for r in planted["over_baselines"] if r["task"] == "rotten_tomatoes"]
    assert {r["best_baseline"] for r in rows} == {"zero_shot"}
    assert all(r["over_best"]["ci_low"] > 0.15 for r in rows)  # planted: ~20 points over


def test_a_study_level_verdict_speaks_for_the_tasks_that_learned(planted: dict) -> None:
    # the group serves rotten_tomatoes (learned) and mrpc (did not) on one base: the timings are
    # rotten_tomatoes' part C too, so the study-level verdict agrees with it and says for whom
    (serving,) = planted["serving_verdicts"]
    assert serving["tasks"] == ["rotten_tomatoes", "mrpc"]
    assert serving["speaks_for"] == ["rotten_tomatoes"]
    rt = next(v for v in planted["hypotheses"] if v["task"] == "rotten_tomatoes")
    (part_c,) = [c for c in rt["components"] if c["part"] == "serving"]
    assert serving["status"] == part_c["status"] != "not applicable"
    assert serving["not_applicable_reason"] == ""
    assert "It speaks for rotten_tomatoes, whose models learned;" in serving["sentence"]
    assert "the other tasks' models did not learn (mrpc: " in serving["sentence"]


def test_a_study_level_verdict_of_tasks_none_learned_is_not_applicable(
    tmp_path: Path,
) -> None:
    results = produce(
        tmp_path, unlearnable(unlearnable(synthetic_dict(), "mrpc"), "rotten_tomatoes")
    )
    (serving,) = results["serving_verdicts"]
    assert serving["speaks_for"] == []
    assert serving["status"] == "not applicable"
    assert serving["not_applicable_reason"].startswith(
        "it serves adapters of tasks whose models did not learn (rotten_tomatoes: "
    )
    assert "; mrpc: " in serving["not_applicable_reason"]
