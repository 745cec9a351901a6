"""Seeds needed to detect an effect (statsmodels TTestIndPower)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from statsmodels.stats.power import TTestIndPower

from loralens.stats import (
    achieved_power,
    seeds_for_noninferiority,
    seeds_needed,
    welch_noninferiority,
)

# Monte-Carlo simulations of many studies: `make test` runs them, `make test-fast` skips them.
pytestmark = pytest.mark.slow


def test_textbook_case():
    # Cohen's "large" effect d = 0.8 at alpha 0.05 and power 0.8: n = 25.5, so 26 per group.
    res = seeds_needed(0.8)
    assert res.n_per_group == 26
    assert achieved_power(0.8, 26) >= 0.8 > achieved_power(0.8, 25)
    solved = TTestIndPower().solve_power(effect_size=0.8, alpha=0.05, power=0.8)
    assert res.n_per_group == math.ceil(solved)
    d = res.to_dict()
    assert json.loads(json.dumps(d)) == d


def test_sign_and_one_sided():
    assert seeds_needed(-0.8).n_per_group == 26
    assert seeds_needed(-0.8).effect_size == -0.8
    one_sided = seeds_needed(0.8, alternative="greater")
    assert one_sided.n_per_group == 21  # n = 20.03
    assert seeds_needed(-0.8, alternative="greater").n_per_group is None


@pytest.mark.parametrize("effect", [math.nan, math.inf, 0.0, 1e-4])
def test_undefined_or_tiny_effects(effect):
    res = seeds_needed(effect, max_n=500)
    assert res.n_per_group is None
    assert res.note


def test_huge_effect_needs_the_minimum():
    assert seeds_needed(10.0).n_per_group == 2


def test_planning_seeds_for_non_inferiority_reach_their_power_in_simulation():
    lora, full = [0.84, 0.85, 0.83, 0.845], [0.86, 0.87, 0.855, 0.865]
    res = seeds_for_noninferiority(lora, full, margin=0.01)
    sd = float(np.sqrt((np.var(lora, ddof=1) + np.var(full, ddof=1)) / 2))
    assert res.effect_size == pytest.approx(0.01 / sd) and res.alternative == "greater"
    n = res.n_per_group
    assert n is not None and n > 2 and "if the methods were equal" in res.note
    wider = seeds_for_noninferiority(lora, full, margin=0.02)
    assert wider.n_per_group < n  # a wider margin needs fewer seeds
    # Simulate equal methods with that SD and n seeds: the one-sided Welch test at the margin
    # rejects about 80% of the time (t vs the normal approximation: a little below with few n).
    rng = np.random.default_rng(7)
    hits = [
        welch_noninferiority(rng.normal(0.8, sd, n), rng.normal(0.8, sd, n), margin=0.01).p_value
        < 0.05
        for _ in range(2000)
    ]
    assert 0.74 <= float(np.mean(hits)) <= 0.86
    with pytest.raises(ValueError, match="SD 0"):
        seeds_for_noninferiority([0.8, 0.8], [0.8, 0.8], margin=0.01)


def test_bad_input():
    with pytest.raises(ValueError):
        achieved_power(0.5, 1)
    with pytest.raises(ValueError):
        seeds_needed(0.5, power=1.2)
    with pytest.raises(ValueError, match="at least 2 seeds"):
        seeds_for_noninferiority([0.8], [0.7, 0.8], margin=0.01)
