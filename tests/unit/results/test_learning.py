"""Drift at a matched val score: a planted path gives back its drift where it reached the score."""

from __future__ import annotations

import pytest

from loralens.results.learning import (
    drift_at_matched_score,
    drift_at_score,
    matched_score,
    run_paths,
)


def _summary(method: str, seed: int, path: list[tuple[int, float, float]]) -> list[dict]:
    return [
        {
            "task": "t",
            "method": method,
            "seed": seed,
            "pooling": "mean_nosink",
            "selected": False,
            "step": step,
            "val_score": val,
            "mean_drift": drift,
        }
        for step, val, drift in path
    ]


def test_drift_is_read_where_the_path_first_reaches_the_score() -> None:
    path = [(10, 0.74, 0.002), (20, 0.82, 0.010), (30, 0.80, 0.020)]
    drift, bound = drift_at_score(path, 0.78, greater=True)
    assert drift == pytest.approx(0.006) and not bound  # halfway from step 10 to 20
    assert drift_at_score(path, 0.72, greater=True) == (0.002, True)  # by its first snapshot
    assert drift_at_score(path, 0.90, greater=True) == (None, False)
    nll = [(s, -v, d) for s, v, d in path]  # lower is better
    assert drift_at_score(nll, -0.78, greater=False)[0] == pytest.approx(0.006)


def test_a_larger_step_reaches_the_score_further_along_its_drift() -> None:
    """Planted: the same learning at a larger step moves the representations more per point of
    val score; at a matched score the larger step's run shows more drift, while at a matched
    step the comparison mixes both."""
    small = [(10, 0.75, 0.001), (20, 0.80, 0.002), (30, 0.84, 0.003)]
    large = [(10, 0.80, 0.008), (20, 0.82, 0.012), (30, 0.83, 0.016)]
    summary = _summary("small", 1, small) + _summary("large", 1, large)
    paths = run_paths(summary, "t", "mean_nosink")
    assert matched_score(paths, greater=True) == pytest.approx(0.83)
    out = drift_at_matched_score(summary, "t", "mean_nosink", greater=True)
    by = {r["method"]: r["drift"] for r in out["runs"]}
    assert by["large"] > by["small"]
    assert by["small"] == pytest.approx(0.002 + 0.75 * 0.001)


def test_a_run_that_reached_the_score_at_once_gives_an_upper_bound() -> None:
    """No val score is taken at step 0: a run whose first evaluated snapshot already reached the
    matched score is read there, flagged as an upper bound, and the note says how many."""
    from loralens.results.learning import matched_note

    flat = [(10, 0.70, 0.004), (20, 0.69, 0.006)]
    learned = [(10, 0.66, 0.002), (20, 0.80, 0.004)]
    summary = _summary("flat", 1, flat) + _summary("learned", 1, learned)
    out = drift_at_matched_score(summary, "t", "mean_nosink", greater=True)
    assert out["score"] == pytest.approx(0.70)
    by = {r["method"]: (r["drift"], r["upper_bound"]) for r in out["runs"]}
    assert by["flat"] == (0.004, True) and by["learned"][1] is False
    assert by["learned"][0] == pytest.approx(0.002 + 0.002 * 4 / 14)
    assert (
        "1 of 2 runs had reached it by their first evaluated snapshot"
        in matched_note(out, ["flat", "learned"])[0]
    )
    assert drift_at_matched_score([], "t", "mean_nosink", greater=True)["score"] is None


def test_the_drift_verdict_says_how_the_learning_rates_were_chosen(tmp_path) -> None:
    """Planted: the same study read as hand-set, then as tuned: results.json records it once and
    the drift part's sentence carries it, with the drift at the matched val score."""
    from tests.unit.report._produced import produce
    from tests.unit.report._synthetic import synthetic_dict

    hand = produce(tmp_path / "hand", synthetic_dict())
    rates = hand["decisions"]["learning_rates"]
    assert rates["how"] == "hand" and rates["values"] == {"full-ft": [5e-05], "lora-r8": [1e-3]}
    drift_part = hand["hypotheses"][0]["components"][1]
    assert "set by hand, not tuned (full-ft 5e-05; lora-r8 0.001)" in drift_part["sentence"]
    matched = hand["decisions"]["drift"]["matched_score"]["rotten_tomatoes"]
    assert matched["score"] is not None and len(matched["runs"]) == 6
    assert "at the val score every run reached" in drift_part["sentence"]
    tuned_dict = synthetic_dict()
    tuned_dict["study"]["config"]["study"]["learning_rates"] = "tuned"
    space = {"learning_rate": {"low": 1e-5, "high": 1e-2, "log": True}}
    tuned_dict["study"]["config"]["hpo"] = {"space": {v: space for v in ("full-ft", "lora-r8")}}
    tuned = produce(tmp_path / "tuned", tuned_dict)
    assert tuned["decisions"]["learning_rates"]["how"] == "tuned"
    searched = tuned["decisions"]["learning_rates"]["search"]["space"]["lora-r8"]
    assert searched["learning_rate"]["high"] == 1e-2
    sentence = tuned["hypotheses"][0]["components"][1]["sentence"]
    assert "tuned on val the same way for every variant" in sentence


def test_rates_searched_on_another_task_read_as_hand_set_on_this_one() -> None:
    """The quickstart's rates were searched on rotten_tomatoes: the same config on a user's own
    task must not say its rates were tuned there."""
    from loralens.results.learning import learning_rates, rates_note

    config = {
        "study": {"learning_rates": "tuned", "tuned_on": ["rotten_tomatoes"]},
        "hpo": {"trials": 4, "seeds": 2, "space": {}},
    }
    runs = [{"method": "full-ft", "learning_rate": 5.62e-5}]
    rates = learning_rates(config, runs)
    assert rates["tuned_on"] == ["rotten_tomatoes"]
    assert rates_note(rates, "rotten_tomatoes").startswith("learning rates tuned on val the same")
    mine = rates_note(rates, "meals")
    assert mine.startswith("learning rates set by hand, tuned on rotten_tomatoes, not here")
    everywhere = learning_rates({**config, "study": {"learning_rates": "tuned"}}, runs)
    assert everywhere["tuned_on"] is None and "tuned on val" in rates_note(everywhere, "meals")
    per_task = learning_rates({**config, "hpo": {"tuned": {"meals": {}}}}, runs)  # hpo.use
    assert per_task["tuned_on"] == ["meals"] and "tuned on val" in rates_note(per_task, "meals")
    hand = learning_rates({"study": {"learning_rates": "hand"}}, runs)
    assert hand["tuned_on"] is None and "set by hand, not tuned" in rates_note(hand, "meals")
