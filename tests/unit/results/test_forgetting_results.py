"""The forgetting block: each run's change against the base, and the across-seed tests."""

from __future__ import annotations

import numpy as np
import pytest

from loralens.results.forgetting import TEXT_MEASURE, forgetting_rows, forgetting_tests

BASE = {"text": {"task": "news", "nll": 3.0}, "tasks": [{"task": "rt", "accuracy": 0.7}]}


def _entries(changes: dict[str, list[float]], acc: float = 0.7) -> list:
    return [
        (
            ("lm", method, seed),
            {"text": {"task": "news", "nll": 3.0 + c}, "tasks": [{"task": "rt", "accuracy": acc}]},
            f"artifacts/forgetting-{method}{seed}",
        )
        for method, values in changes.items()
        for seed, c in enumerate(values)
    ]


def test_rows_carry_each_probe_against_the_base():
    (row,) = forgetting_rows(_entries({"lora": [0.25]}, acc=0.6), BASE)
    text, task = row["probes"]
    assert text["measure"] == TEXT_MEASURE and text["change"] == pytest.approx(0.25)
    assert text["base"] == 3.0 and task["measure"] == "zero_shot:rt"
    assert task["change"] == pytest.approx(-0.1)


def test_no_base_no_rows():
    assert forgetting_rows(_entries({"lora": [0.1]}), None) == []


def test_a_planted_difference_in_forgetting_is_found_and_only_there():
    rows = forgetting_rows(
        _entries({"lora": [0.05, 0.06, 0.04, 0.05], "full": [0.50, 0.55, 0.45, 0.52]}), BASE
    )
    tests = forgetting_tests(rows, [("lora", "full")], alpha=0.05)
    by = {t["measure"]: t for t in tests}
    text = by[TEXT_MEASURE]
    assert text["significant"] and text["welch"]["estimate"] == pytest.approx(-0.455, abs=1e-9)
    assert text["welch"]["ci_high"] < 0 and text["p_adjusted"] >= text["welch"]["p_value"]
    # every run kept the base's accuracy: no variation, no test, and said so
    assert "zero variance" in by["zero_shot:rt"]["not_computed"]


def _no_effect_size(a, b, confidence_level):
    return type("G", (), {"to_dict": lambda self: {}})()


def test_the_forgetting_test_holds_its_level_under_the_null(monkeypatch):
    # the decision is Welch's (Holm over the probes); Hedges' g's interval only describes
    monkeypatch.setattr("loralens.results.forgetting.hedges_g", _no_effect_size)
    rng = np.random.default_rng(0)
    rejections = 0
    n = 2000
    for _ in range(n):
        changes = {"lora": list(rng.normal(0.2, 0.05, 3)), "full": list(rng.normal(0.2, 0.05, 3))}
        tests = forgetting_tests(forgetting_rows(_entries(changes), BASE), [("lora", "full")], 0.05)
        rejections += any(t.get("significant") for t in tests)
    rate = rejections / n
    assert 0.02 <= rate <= 0.07, rate  # nominal 0.05 (Welch, 3 vs 3 seeds)
