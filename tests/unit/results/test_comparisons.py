"""The study's statistics from run records as the analysis stage reads them."""

import numpy as np
import pytest

from loralens.results.comparisons import anova_table, study_statistics
from loralens.stats.hypotheses import Thresholds

PRIMARY = {t: "accuracy" for t in ("mrpc", "rte", "sst2", "a", "b")}


def _runs(tasks: dict[str, float], seeds: int = 3, lora_shift: float = -0.01) -> list[dict]:
    """Run records (as collected from metrics.json) for full and LoRA on each task."""
    rng = np.random.default_rng(0)
    out = []
    for task, level in tasks.items():
        for variant, base, shift in (("full-ft", "full", 0.0), ("lora-r8", "lora", lora_shift)):
            for seed in range(seeds):
                acc = float(level + shift + rng.normal(0, 0.005))
                out.append(
                    {
                        "task": task,
                        "method": variant,
                        "base_method": base,
                        "seed": seed,
                        "test": {"accuracy": acc, "f1": acc},
                        "predictions": [1, 0, 1, 1],
                        "labels": [1, 0, 0, 1],
                    }
                )
    return out


def test_anova_of_a_multi_task_study_lists_every_task() -> None:
    runs = _runs({"mrpc": 0.70, "rte": 0.55, "sst2": 0.85})
    stats, verdict_inputs = study_statistics(runs, Thresholds(), PRIMARY)
    anova = stats["anova"]
    assert anova["levels"]["task"] == ["mrpc", "rte", "sst2"]
    assert anova["n_obs"] == 18
    terms = {r["term"]: r for r in anova["rows"]}
    assert set(terms) == {"method", "task", "method:task", "Residual"}
    assert terms["task"]["p_value"] < 1e-6  # planted: tasks differ by 15-30 points
    assert set(verdict_inputs) == {"mrpc", "rte", "sst2"}


def test_anova_planted_method_effect_is_found_and_absent_one_is_not() -> None:
    shifted = anova_table(_runs({"a": 0.7, "b": 0.6}, lora_shift=-0.05), {"a": "f1", "b": "f1"})
    same = anova_table(_runs({"a": 0.7, "b": 0.6}, lora_shift=0.0), {"a": "f1", "b": "f1"})
    assert {r["term"]: r for r in shifted["rows"]}["method"]["p_value"] < 1e-3
    assert {r["term"]: r for r in same["rows"]}["method"]["p_value"] > 0.01


def test_anova_of_one_task_is_not_computed_with_the_reason() -> None:
    anova = anova_table(_runs({"mrpc": 0.7}), {"mrpc": "accuracy"})
    assert anova == {
        "not_computed": "needs at least two tasks and two methods; the study has 1 and 2"
    }


def test_a_test_the_data_cannot_support_is_not_computed_not_a_crash() -> None:
    stats, _ = study_statistics(_runs({"mrpc": 0.7}, seeds=1), Thresholds(), PRIMARY)
    welch = stats["accuracy"][0]["welch"]
    assert set(welch) == {"not_computed"} and "at least 2" in welch["not_computed"]


def test_a_bug_is_not_turned_into_a_data_row() -> None:
    runs = _runs({"a": 0.7, "b": 0.6})
    runs[0]["test"]["accuracy"] = {"not": "a number"}  # a producer bug, not thin data
    with pytest.raises(TypeError):
        study_statistics(runs, Thresholds(), PRIMARY)
