"""The drift decision: methods are compared at a step every run reached, never silently on
layers one component dominates, and only on one probe set."""

import pytest

from loralens.errors import LoralensError
from loralens.results.drift import (
    drift_by_seed,
    drift_decision,
    drift_note,
    drift_section,
    matched_step,
    seed_note,
    seed_reference,
)
from loralens.stats.hypotheses import evaluate_hypothesis


def _summary(steps_by_run: dict[tuple[str, int], list[int]], pooling: str = "mean_nosink"):
    out = []
    for (method, seed), steps in steps_by_run.items():
        for step in steps:
            drift = (0.01 if method == "lora" else 0.05) * step / 10 + 0.001 * seed
            out.append(
                {
                    "task": "t",
                    "method": method,
                    "seed": seed,
                    "pooling": pooling,
                    "step": step,
                    "selected": False,
                    "mean_drift": drift,
                    "layers": 4,
                    "dominated_layers": [2, 3] if step == 20 else [],
                }
            )
        # The selected checkpoint: LoRA stopped early, which would look like less drift.
        out.append({**out[-1], "step": steps[1], "selected": True, "mean_drift": 0.0001})
    return out


def test_drift_is_compared_at_the_last_step_every_run_reached() -> None:
    summary = _summary(
        {("lora", 1): [0, 10, 20], ("lora", 2): [0, 10, 20, 30], ("full", 1): [0, 10, 20, 30]}
    )
    assert matched_step(summary, "t", "mean_nosink") == (20, "")
    values = drift_by_seed(summary, "t", ("lora", "full"), "mean_nosink", 20)
    assert values == {
        "treatment": [pytest.approx(0.021), pytest.approx(0.022)],
        "reference": [0.101],
        "paired": False,  # seed 2 has no full run: nothing to pair it with
    }
    note = drift_note(summary, "t", ("lora", "full"), "mean_nosink", 20)
    assert "matched step 20" in note and "in 2 of 4 layers (2, 3)" in note


def test_runs_without_a_common_step_are_not_compared_and_say_why() -> None:
    summary = _summary({("lora", 1): [0, 7], ("full", 1): [0, 10]})
    decision = drift_decision(summary, ["t"], "mean_nosink")
    assert decision["step"] == {"t": None}
    why = decision["not_compared"]["t"]
    assert "no snapshot step common to every run of task t" in why and "lora seed 1: 0, 7" in why
    verdict = evaluate_hypothesis(
        {"treatment": [0.8, 0.81, 0.79], "reference": [0.8, 0.8, 0.81]},
        {"treatment": [], "reference": []},
        drift_reason=why,
    )
    part = next(c for c in verdict.components if c.name.startswith("Drift"))
    assert part.status == "inconclusive" and why in part.sentence


def test_runs_probed_on_different_probe_sets_are_refused() -> None:
    def entry(seed: int, sha: str):
        data = {"probe_sha256": sha, "rows": [], "controls": [], "summary": []}
        return ("t", "lora", seed), data, f"drift-{seed}"

    assert drift_section([entry(1, "aa"), entry(2, "aa")])["rows"] == []
    with pytest.raises(LoralensError, match="task t: its runs were probed on different probe"):
        drift_section([entry(1, "aa"), entry(2, "bb")])


def test_val_scores_are_the_selection_metric_of_the_task_kind() -> None:
    from loralens.results.drift import attach_val_scores

    runs = [
        {
            "task": task,
            "method": "lora",
            "seed": 1,
            "val_log": [{"step": 2, "eval_answer_nll": 1.5, "eval_accuracy": 0.7}],
        }
        for task in ("qa", "cls")
    ]
    summary = [{"task": t, "method": "lora", "seed": 1, "step": 2} for t in ("qa", "cls")]
    attach_val_scores(summary, runs, {"qa": "squad_f1", "cls": "accuracy"})
    assert [s["val_score"] for s in summary] == [1.5, 0.7]


def test_drift_of_runs_with_the_same_seeds_pairs_them() -> None:
    summary = _summary({("lora", 1): [0, 10], ("lora", 2): [0, 10], ("full", 1): [0, 10],
                        ("full", 2): [0, 10]})  # fmt: skip
    assert drift_by_seed(summary, "t", ("lora", "full"), "mean_nosink", 10)["paired"] is True


def test_the_seed_reference_reads_the_compared_step_beside_the_drift_from_the_base() -> None:
    def pair(method: str, step: int, seeds: list[int], drift: float) -> dict:
        ident = {"task": "t", "method": method, "pooling": "mean_nosink", "step": step}
        return ident | {"seeds": seeds, "mean_drift": drift, "layers": 3}

    pairs = [pair("lora", 20, [1, 2], 0.01), pair("lora", 20, [1, 3], 0.03)]
    pairs += [pair("lora", 10, [1, 2], 0.5), pair("full", 20, [1, 2], 0.04)]
    summary = [
        {"task": "t", "method": m, "seed": s, "pooling": "mean_nosink", "step": 20}
        | {"selected": False, "mean_drift": d}
        for m, s, d in [("lora", 1, 0.02), ("lora", 2, 0.04), ("full", 1, 0.2), ("full", 2, 0.2)]
    ]
    (lora, full) = seed_reference(pairs, summary, "t", "mean_nosink", 20)
    assert (lora["method"], lora["pairs"], lora["low"], lora["high"]) == ("lora", 2, 0.01, 0.03)
    assert lora["mean"] == pytest.approx(0.02) and lora["from_base"] == pytest.approx(0.03)
    assert full["from_base"] == pytest.approx(0.2)  # step 10's pair is not read at step 20
    (note,) = seed_note([lora, full], ("lora", "full"))
    assert note == (
        "seed to seed at step 20: lora 0.02000 between its seeds, 0.03000 from the base; "
        "full 0.04000 between its seeds, 0.20000 from the base"
    )
    assert seed_reference(pairs, summary, "t", "mean_nosink", None) == []
    assert seed_note([], ("lora", "full")) == []
