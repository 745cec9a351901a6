"""Seeds needed to detect an effect (statsmodels TTestIndPower)."""

from __future__ import annotations

import json
import math

import pytest
from statsmodels.stats.power import TTestIndPower

from loralens.stats import achieved_power, seeds_needed, seeds_needed_for_observed


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


def test_from_observed_seeds():
    lora, full = [0.84, 0.85, 0.83, 0.845], [0.86, 0.87, 0.855, 0.865]
    res = seeds_needed_for_observed(lora, full)
    assert res.n_per_group is not None and res.n_per_group >= 2
    assert res.effect_size < 0
    constant = seeds_needed_for_observed([0.8, 0.8], [0.8, 0.8])
    assert constant.n_per_group is None
    assert math.isnan(constant.effect_size)


def test_bad_input():
    with pytest.raises(ValueError):
        achieved_power(0.5, 1)
    with pytest.raises(ValueError):
        seeds_needed(0.5, power=1.2)
    with pytest.raises(ValueError, match="NaN"):
        seeds_needed_for_observed([0.8, math.nan], [0.7, 0.8])
