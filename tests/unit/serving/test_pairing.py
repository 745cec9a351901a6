"""A-B-A pairs and warm-up until stable, on a simulated machine clock (no model)."""

from __future__ import annotations

import pytest
import torch

from loralens.serving import pairing
from loralens.serving.pairing import WarmupPolicy, paired_rounds, round_order, warm_until_stable

CPU = torch.device("cpu")


class Machine:
    """Calls whose duration is their cost times the machine's load at that call."""

    def __init__(self, load=lambda i: 1.0) -> None:
        self.load, self.log = load, []

    def call(self, name: str, cost: float):
        def run() -> str:
            self.log.append(name)
            return name

        run.cost = cost  # type: ignore[attr-defined]
        return run

    def timed(self, call, device):
        index = len(self.log)
        return call.cost * self.load(index), call()


@pytest.fixture
def machine(monkeypatch):
    def make(load=lambda i: 1.0) -> Machine:
        m = Machine(load)
        monkeypatch.setattr(pairing, "_timed", m.timed)
        return m

    return make


def test_every_round_brackets_each_engine_between_two_baseline_calls(machine) -> None:
    m = machine()
    calls = {"A": m.call("A", 1.0), "x": m.call("x", 1.2), "y": m.call("y", 1.5)}
    out = paired_rounds(calls, "A", rounds=4, device=CPU, seed=7)
    assert len(m.log) == 4 * 5  # (n + 1) baseline calls and n engine calls per round
    for r in range(4):
        round_calls = m.log[5 * r : 5 * r + 5]
        assert round_calls[::2] == ["A", "A", "A"] and sorted(round_calls[1::2]) == ["x", "y"]
    assert [o for o in round_order(["x", "y"], 4, 7)] == [
        [m.log[5 * r + 1], m.log[5 * r + 3]] for r in range(4)
    ]
    assert len(out.samples["A"]) == 12 and out.baseline_s["x"] == [1.0] * 4
    assert [dt for dt, _ in out.samples["y"]] == [1.5] * 4


def test_a_transient_longer_than_one_call_cancels_in_its_pair(machine) -> None:
    # +40% load over calls 5-9: the whole second round (A x A y A), and nothing else
    m = machine(lambda i: 1.4 if 5 <= i < 10 else 1.0)
    calls = {"A": m.call("A", 1.0), "x": m.call("x", 1.2), "y": m.call("y", 1.5)}
    out = paired_rounds(calls, "A", rounds=3, device=CPU, seed=0)
    for name, cost in (("x", 1.2), ("y", 1.5)):
        ratios = [
            dt / b for (dt, _), b in zip(out.samples[name], out.baseline_s[name], strict=True)
        ]
        assert ratios == pytest.approx([cost] * 3)


def test_warm_up_runs_until_the_last_calls_agree_or_the_cap() -> None:
    times = {"fast": iter([3.0, 2.0, 1.0, 1.0, 1.02, 1.0] + [1.0] * 20), "slow": None}
    jitter = iter([1.0, 2.0] * 20)

    def timed(call, device):
        return (next(times["fast"]) if call == "fast" else next(jitter)), None

    policy = WarmupPolicy(minimum=1, maximum=8, window=3, tolerance=0.05)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pairing, "_timed", timed)
        steady = warm_until_stable({"fast": "fast"}, policy, CPU)
        noisy = warm_until_stable({"fast": "fast", "slow": "slow"}, policy, CPU)
    assert steady["fast"] == {"calls": 5, "stable": True, "spread": pytest.approx(0.02)}
    assert noisy["slow"]["calls"] == 8 and not noisy["slow"]["stable"]
    assert noisy["slow"]["spread"] >= 0.5  # 1 and 2 s in turn
