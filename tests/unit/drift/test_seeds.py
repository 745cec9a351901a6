"""Seed-to-seed drift: a planted difference between two seeds is measured where it was planted,
in the pairs that hold that seed, growing with its size, and nowhere else."""

import pytest
import torch

from loralens.drift.seeds import pair_rows, seed_pair_drift


def reps(x: torch.Tensor, layers: int = 3) -> dict[str, torch.Tensor]:
    """A snapshot of `layers` layers at two poolings, each layer a fixed transform of x."""
    out = {}
    for i in range(layers):
        h = torch.tanh(x * (i + 1))
        out[f"mean.layer_{i}"] = h
        out[f"last.layer_{i}"] = h.flip(1)
    return out


def planted(noise: float, layer: int = 1, seed: int = 0) -> dict[str, torch.Tensor]:
    """The shared snapshot with Gaussian noise of size `noise` added at one layer (mean pooling)."""
    snap = reps(BASE)
    gen = torch.Generator().manual_seed(seed)
    key = f"mean.layer_{layer}"
    snap[key] = snap[key] + noise * torch.randn(snap[key].shape, generator=gen, dtype=torch.float64)
    return snap


BASE = torch.randn(40, 12, generator=torch.Generator().manual_seed(7), dtype=torch.float64)


def test_identical_seeds_are_zero_apart() -> None:
    rows = pair_rows(reps(BASE), reps(BASE), "mean")
    assert [r["layer"] for r in rows] == [0, 1, 2]
    assert max(abs(r["drift"]) for r in rows) < 1e-12


def test_a_planted_seed_difference_is_measured_only_where_planted() -> None:
    runs = {1: {5: reps(BASE)}, 2: {5: reps(BASE)}, 3: {5: planted(0.5)}}
    out = seed_pair_drift(runs, "mean")
    by_pair = {(tuple(r["seeds"]), r["layer"]): r["drift"] for r in out["rows"]}
    assert by_pair[((1, 3), 1)] > 0.05 and by_pair[((2, 3), 1)] > 0.05
    untouched = [d for (pair, layer), d in by_pair.items() if pair == (1, 2) or layer != 1]
    assert max(abs(d) for d in untouched) < 1e-12
    means = {tuple(s["seeds"]): s["mean_drift"] for s in out["summary"]}
    assert means[(1, 3)] == pytest.approx(by_pair[((1, 3), 1)] / 3)


def test_seed_drift_grows_with_the_planted_difference() -> None:
    drift = [
        seed_pair_drift({1: {5: reps(BASE)}, 2: {5: planted(s)}}, "mean")["summary"][0][
            "mean_drift"
        ]
        for s in (0.05, 0.2, 0.8)
    ]
    assert 0 < drift[0] < drift[1] < drift[2]


def test_only_steps_every_seed_reached_are_compared() -> None:
    runs = {1: {0: reps(BASE), 5: reps(BASE), 10: reps(BASE)}, 2: {0: reps(BASE), 5: reps(BASE)}}
    out = seed_pair_drift(runs, "mean")
    assert sorted({s["step"] for s in out["summary"]}) == [0, 5]
    assert all(s["layers"] == 3 for s in out["summary"])


def test_one_seed_has_no_seed_to_seed_drift() -> None:
    with pytest.raises(ValueError, match="at least two seeds"):
        seed_pair_drift({1: {5: reps(BASE)}}, "mean")
