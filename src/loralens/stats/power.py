"""Power analysis for comparing two methods across seeds (statsmodels `TTestIndPower`).

The answer is "how many seeds per group would detect this standardized effect at `alpha` with
the given power" for a two-sample t-test with equal group sizes. NaN, zero or tiny effects give
no number of seeds (`n_per_group=None`) and say why, instead of a huge or failing solve.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from statsmodels.stats.power import TTestIndPower

from loralens.stats._checks import check_alternative, check_level
from loralens.stats.results import to_jsonable

_POWER = TTestIndPower()
_SM_ALTERNATIVE = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}


@dataclasses.dataclass(frozen=True)
class PowerResult:
    """Seeds per group needed to detect `effect_size`, or None with the reason in `note`."""

    effect_size: float
    alpha: float
    power: float
    alternative: str
    n_per_group: int | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return to_jsonable(self)


def achieved_power(
    effect_size: float, n_per_group: int, *, alpha: float = 0.05, alternative: str = "two-sided"
) -> float:
    """Power of the two-sample t-test with `n_per_group` seeds per group."""
    check_level(alpha, "alpha")
    check_alternative(alternative)
    if n_per_group < 2:
        raise ValueError(f"n_per_group must be >= 2, got {n_per_group}")
    if not math.isfinite(effect_size):
        raise ValueError(f"effect_size must be finite, got {effect_size}")
    if alternative == "two-sided":
        effect_size = abs(effect_size)
    return float(
        _POWER.power(effect_size, n_per_group, alpha, alternative=_SM_ALTERNATIVE[alternative])
    )


def seeds_needed(
    effect_size: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: str = "two-sided",
    max_n: int = 1000,
) -> PowerResult:
    """Seeds per group for the two-sample t-test to reach `power` at `alpha`."""
    check_level(power, "power")

    def result(n: int | None, note: str) -> PowerResult:
        return PowerResult(float(effect_size), alpha, power, alternative, n, note)

    if not math.isfinite(effect_size):
        return result(None, f"effect size is {effect_size}: no sample size can be computed")
    if achieved_power(effect_size, max_n, alpha=alpha, alternative=alternative) < power:
        return result(None, f"effect too small or in the wrong direction: > {max_n} seeds")
    if achieved_power(effect_size, 2, alpha=alpha, alternative=alternative) >= power:
        return result(2, "2 seeds per group (the minimum) already suffice")
    solve_for = abs(effect_size) if alternative == "two-sided" else effect_size
    n = _POWER.solve_power(
        effect_size=solve_for,
        nobs1=None,
        alpha=alpha,
        power=power,
        ratio=1.0,
        alternative=_SM_ALTERNATIVE[alternative],
    )
    n_int = max(2, math.ceil(float(n) - 1e-9))
    return result(n_int, f"{n_int} seeds per group (solved n = {float(n):.2f})")


def seeds_for_noninferiority(
    a: Any,
    b: Any,
    /,
    *,
    margin: float,
    alpha: float = 0.05,
    power: float = 0.8,
    max_n: int = 1000,
) -> PowerResult:
    """Seeds per group a one-sided non-inferiority test at `margin` needs (a planning figure).

    Assumes the methods are truly equal and both have the SD pooled from `a` and `b`; the
    standardized effect is then margin / SD. Not a statement about the observed difference.
    """
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.size < 2 or y.size < 2:
        raise ValueError("the pooled SD needs at least 2 seeds per group")
    pooled = math.sqrt(
        ((x.size - 1) * x.var(ddof=1) + (y.size - 1) * y.var(ddof=1)) / (x.size + y.size - 2)
    )
    if pooled == 0:
        raise ValueError("the seeds do not vary (SD 0): no sample size can be planned")
    out = seeds_needed(
        margin / pooled, alpha=alpha, power=power, alternative="greater", max_n=max_n
    )
    why = (
        f"if the methods were equal with SD {pooled:.3g}, a one-sided test at the margin "
        f"{margin:g} (alpha {alpha:g}) reaches {power:.0%} power with this many seeds per group"
    )
    return dataclasses.replace(out, note=f"{out.note}; {why}")
