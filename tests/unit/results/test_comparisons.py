"""The study's statistics from run records as the analysis stage reads them."""

import numpy as np
import pytest

from loralens.errors import LoralensError
from loralens.results.collect import example_scores
from loralens.results.comparisons import anova_tables, comparisons, study_statistics
from loralens.stats.hypotheses import Thresholds

PRIMARY = {t: "accuracy" for t in ("mrpc", "rte", "sst2", "a", "b")}
PAIRS = [("lora-r8", "full-ft")]


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
                )  # no per-example scores: their mean would not be `acc`
    return out


def test_anova_of_a_multi_task_study_lists_every_task() -> None:
    runs = _runs({"mrpc": 0.70, "rte": 0.55, "sst2": 0.85})
    stats, verdict_inputs = study_statistics(runs, Thresholds(), PRIMARY, PAIRS)
    anova = stats["anova"]["accuracy"]
    assert anova["levels"]["task"] == ["mrpc", "rte", "sst2"]
    assert anova["n_obs"] == 18
    terms = {r["term"]: r for r in anova["rows"]}
    assert set(terms) == {"method", "task", "method:task", "Residual"}
    assert terms["task"]["p_value"] < 1e-6  # planted: tasks differ by 15-30 points
    assert set(verdict_inputs) == {(t, "lora-r8", "full-ft") for t in ("mrpc", "rte", "sst2")}


def test_anova_planted_method_effect_is_found_and_absent_one_is_not() -> None:
    f1 = {"a": "f1", "b": "f1"}
    shifted = anova_tables(_runs({"a": 0.7, "b": 0.6}, lora_shift=-0.05), f1)["f1"]
    same = anova_tables(_runs({"a": 0.7, "b": 0.6}, lora_shift=0.0), f1)["f1"]
    assert {r["term"]: r for r in shifted["rows"]}["method"]["p_value"] < 1e-3
    assert {r["term"]: r for r in same["rows"]}["method"]["p_value"] > 0.01


def test_anova_of_one_task_is_not_computed_with_the_reason() -> None:
    anova = anova_tables(_runs({"mrpc": 0.7}), {"mrpc": "accuracy"})
    assert anova == {
        "accuracy": {
            "not_computed": "needs at least two tasks and two methods on accuracy; the study "
            "has 1 and 2"
        }
    }


def test_tasks_of_different_metrics_get_one_anova_each() -> None:
    # F1 of one task and accuracy of two others are never one response with one residual
    # variance: a metric shared by two tasks gets its ANOVA, a metric of one task says why not.
    runs = _runs({"mrpc": 0.80, "rte": 0.55, "sst2": 0.85})
    anova = anova_tables(runs, {"mrpc": "f1", "rte": "accuracy", "sst2": "accuracy"})
    assert set(anova) == {"accuracy", "f1"}
    assert anova["accuracy"]["levels"]["task"] == ["rte", "sst2"]
    assert anova["accuracy"]["response"] == "accuracy" and anova["accuracy"]["n_obs"] == 12
    assert "on f1; the study has 1 and 2" in anova["f1"]["not_computed"]


def test_a_test_the_data_cannot_support_is_not_computed_not_a_crash() -> None:
    stats, _ = study_statistics(_runs({"mrpc": 0.7}, seeds=1), Thresholds(), PRIMARY, PAIRS)
    welch = stats["accuracy"][0]["welch"]
    assert set(welch) == {"not_computed"} and "at least 2" in welch["not_computed"]


def test_a_bug_is_not_turned_into_a_data_row() -> None:
    runs = _runs({"a": 0.7, "b": 0.6})
    runs[0]["test"]["accuracy"] = {"not": "a number"}  # a producer bug, not thin data
    with pytest.raises(TypeError):
        study_statistics(runs, Thresholds(), PRIMARY, PAIRS)


def test_default_comparisons_are_every_non_full_variant_against_the_full_one() -> None:
    base = {"full-ft": "full", "lora-r4": "lora", "lora-r8": "lora", "adalora-r8": "adalora"}
    order = ["lora-r4", "full-ft", "lora-r8", "adalora-r8"]
    assert comparisons(base, order, []) == [
        ("lora-r4", "full-ft"),
        ("lora-r8", "full-ft"),
        ("adalora-r8", "full-ft"),
    ]
    assert comparisons(base, order, [["lora-r8", "lora-r4"]]) == [("lora-r8", "lora-r4")]
    assert comparisons({"lora": "lora"}, ["lora"], []) == []  # nothing to compare with


def test_each_comparison_and_the_anova_see_every_variant() -> None:
    runs = _runs({"a": 0.7, "b": 0.6})
    runs += [{**r, "method": "lora-r4"} for r in runs if r["method"] == "lora-r8"]
    pairs = [("lora-r8", "full-ft"), ("lora-r4", "full-ft")]
    stats, inputs = study_statistics(runs, Thresholds(), PRIMARY, pairs)
    assert set(inputs) == {(t, v, "full-ft") for t in "ab" for v in ("lora-r8", "lora-r4")}
    assert [(c["task"], c["treatment"]) for c in stats["accuracy"]] == [
        ("a", "lora-r8"), ("a", "lora-r4"), ("b", "lora-r8"), ("b", "lora-r4")
    ]  # fmt: skip
    assert stats["anova"]["accuracy"]["levels"]["method"] == ["full-ft", "lora-r4", "lora-r8"]


def test_a_primary_metric_the_runs_lack_is_one_clear_error() -> None:
    with pytest.raises(LoralensError, match="primary metric 'mcc' is not among the test metrics"):
        study_statistics(_runs({"a": 0.7}), Thresholds(), {"a": "mcc"}, PAIRS)


def _scored(variant: str, seed: int, correct: np.ndarray) -> dict:
    """A run record whose test predictions are right exactly where `correct` is."""
    labels = [i % 2 for i in range(correct.size)]
    predictions = [lab if ok else 1 - lab for lab, ok in zip(labels, correct, strict=True)]
    records = [
        {"index": i, "label": lab, "pred": p}
        for i, (lab, p) in enumerate(zip(labels, predictions, strict=True))
    ]
    test = {"accuracy": float(correct.mean()), "f1": 0.5}  # f1: not a mean of examples
    base = "full" if variant == "full-ft" else "lora"
    return {
        "task": "a", "method": variant, "base_method": base, "seed": seed, "test": test,
        "predictions": predictions, "labels": labels, **example_scores(records, test),
    }  # fmt: skip


def test_per_example_test_reads_each_runs_predictions() -> None:
    # LoRA is right on 10 more of 200 examples in every run: the crossed test measures +5 points.
    stats, _ = study_statistics(_planted_runs(), Thresholds(), {"a": "accuracy"}, PAIRS)
    crossed = stats["accuracy"][0]["per_example"]
    assert crossed["estimate"] == pytest.approx(0.05)
    assert crossed["n_runs"] == [3, 3] and crossed["n_examples"] == 200
    assert crossed["ci_low"] > 0


def _planted_runs() -> list[dict]:
    """3 seeds each; LoRA is right on 10 more of 200 examples in every run."""
    rng = np.random.default_rng(5)
    base = rng.random(200) < 0.6
    runs = []
    for seed in range(3):
        full = base.copy()
        full[rng.choice(200, 4, replace=False)] ^= True  # a run's own few changes
        lora = full.copy()
        lora[np.flatnonzero(~full)[:10]] = True
        runs += [_scored("full-ft", seed, full), _scored("lora-r8", seed, lora)]
    return runs


def test_per_example_test_of_runs_scored_on_different_examples_is_not_computed() -> None:
    runs = _planted_runs()
    runs[0]["example_keys"] = [[k, 1 - lab] for k, lab in runs[0]["example_keys"]]
    stats, inputs = study_statistics(runs, Thresholds(), {"a": "accuracy"}, PAIRS)
    assert "same test examples" in stats["accuracy"][0]["per_example"]["not_computed"]
    assert inputs[("a", *PAIRS[0])]["examples"] is None  # verdict A falls back to Welch


def test_per_example_test_of_a_metric_that_is_no_mean_of_examples_is_not_computed() -> None:
    stats, inputs = study_statistics(_planted_runs(), Thresholds(), {"a": "f1"}, PAIRS)
    assert "not a mean of per-example scores" in stats["accuracy"][0]["per_example"]["not_computed"]
    assert inputs[("a", *PAIRS[0])]["examples"] is None


@pytest.mark.filterwarnings("ignore:Precision loss")  # Welch on near-equal run scores
def test_per_example_scores_that_do_not_average_to_the_runs_score_are_refused() -> None:
    runs = _planted_runs()
    runs[1]["test"]["accuracy"] += 0.01  # the run's own score and its examples disagree
    stats, inputs = study_statistics(runs, Thresholds(), {"a": "accuracy"}, PAIRS)
    assert (
        "means are not the runs' test accuracy"
        in stats["accuracy"][0]["per_example"]["not_computed"]
    )
    assert inputs[("a", *PAIRS[0])]["examples"] is None


def test_verdict_a_reads_the_examples_of_each_run() -> None:
    runs = _planted_runs()
    _, inputs = study_statistics(runs, Thresholds(), {"a": "accuracy"}, PAIRS)
    examples = inputs[("a", *PAIRS[0])]["examples"]
    assert examples["treatment"].shape == examples["reference"].shape == (3, 200)
    np.testing.assert_allclose(examples["treatment"].mean(1), inputs[("a", *PAIRS[0])]["treatment"])
    assert examples["treatment"].sum() - examples["reference"].sum() == 30  # 10 more right per run


def test_the_same_runs_give_the_same_statistics_every_time() -> None:
    # results.json is a function of its inputs, so reruns of a study write the same bytes.
    import json

    runs = _runs({"a": 0.7}, seeds=5, lora_shift=0.0)  # overlapping seeds: a wide interval
    first, *again = (
        json.dumps(study_statistics(runs, Thresholds(), {"a": "accuracy"}, PAIRS)[0])
        for _ in range(5)
    )
    assert all(doc == first for doc in again)
    mann_whitney = json.loads(first)["accuracy"][0]["mann_whitney"]
    # U and its exact p only: a seed bootstrap's interval did not cover at 3-5 seeds
    assert mann_whitney["ci_low"] is None and 0 < mann_whitney["p_value"] <= 1
