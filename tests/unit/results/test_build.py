"""Pieces of the analysis' results document built from run records."""

import pytest

from loralens.results.build import encoder_baselines


def _encoder_run(seed: int, acc: float) -> dict:
    return {
        "task": "sst2", "method": "encoder", "seed": seed, "test": {"accuracy": acc},
        "learning_rate": 1e-4, "steps": 30, "artifact": f"artifacts/train-{seed}",
    }  # fmt: skip


def test_the_encoder_baseline_says_it_was_not_tuned_and_at_what_rate() -> None:
    # The decoders' rates may be chosen on val; the encoder's is one rate set by hand, and the
    # baseline row says so beside its score instead of passing as a tuned competitor.
    (row,) = encoder_baselines([_encoder_run(1, 0.60), _encoder_run(2, 0.58)])
    assert row["name"] == "encoder" and row["test"]["accuracy"] == pytest.approx(0.59)
    assert "untuned: learning rate 0.0001 set by hand" in row["detail"]
    assert "30 steps, 2 seeds" in row["detail"]
