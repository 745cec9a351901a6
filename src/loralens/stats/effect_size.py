"""Standardized mean differences between two independent groups, with confidence intervals.

The CI is analytic: the pooled two-sample t statistic follows a noncentral t distribution with
noncentrality delta * sqrt(n_a * n_b / (n_a + n_b)); inverting its CDF in the noncentrality
(`scipy.special.nctdtrinc`) and rescaling gives an exact interval for Cohen's d under normality
(Steiger & Fouladi 1997). Hedges' g is d times Hedges' (1981) small-sample factor
J = 1 - 3 / (4 (n_a + n_b) - 9), the same as statsmodels' `effectsize_smd`: a less biased point
estimate of delta. Its interval is d's, the exact interval for delta: multiplying the bounds by J
too (0.8 at 3 vs 3) made it cover delta 89% / 87% of the time at delta = 2 / 4.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from scipy import special, stats

from loralens.stats._checks import as_sample, check_level
from loralens.stats.results import to_jsonable

CI_METHOD = "noncentral t inversion"


@dataclasses.dataclass(frozen=True)
class EffectSize:
    """A standardized effect size (a minus b, in pooled SDs) with its CI."""

    name: str
    estimate: float
    ci_low: float
    ci_high: float
    confidence_level: float
    ci_method: str
    n: tuple[int, int]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return to_jsonable(self)


def hedges_correction(n_a: int, n_b: int) -> float:
    """Hedges' small-sample bias factor J for two groups of sizes n_a and n_b."""
    return 1.0 - 3.0 / (4.0 * (n_a + n_b) - 9.0)


def _d_with_ci(a: Any, b: Any, confidence_level: float) -> tuple[float, float, float, int, int]:
    """Cohen's d (pooled SD) of a - b and its noncentral-t CI bounds."""
    check_level(confidence_level, "confidence_level")
    x, y = as_sample(a, "a"), as_sample(b, "b")
    if x.var(ddof=1) + y.var(ddof=1) == 0:
        raise ValueError("both groups have zero variance: the standardized effect is undefined")
    t = float(stats.ttest_ind(x, y, equal_var=True).statistic)
    df = x.size + y.size - 2
    scale = math.sqrt(1.0 / x.size + 1.0 / y.size)  # d = t * scale
    tail = (1.0 - confidence_level) / 2.0
    # The CDF of t falls as the noncentrality grows: the upper CDF level gives the lower bound.
    ncp_low = float(special.nctdtrinc(df, 1.0 - tail, t))
    ncp_high = float(special.nctdtrinc(df, tail, t))
    return t * scale, ncp_low * scale, ncp_high * scale, x.size, y.size


def cohens_d(a: Any, b: Any, /, *, confidence_level: float = 0.95) -> EffectSize:
    """Cohen's d of a - b (pooled SD) with a noncentral-t confidence interval."""
    d, low, high, n_a, n_b = _d_with_ci(a, b, confidence_level)
    return EffectSize("Cohen's d", d, low, high, confidence_level, CI_METHOD, (n_a, n_b))


def hedges_g(a: Any, b: Any, /, *, confidence_level: float = 0.95) -> EffectSize:
    """Hedges' g of a - b (bias-corrected d) with the exact noncentral-t interval for delta."""
    d, low, high, n_a, n_b = _d_with_ci(a, b, confidence_level)
    j = hedges_correction(n_a, n_b)
    method = f"{CI_METHOD} (the interval for delta; g = J d, J = {j:.3f})"
    return EffectSize("Hedges' g", j * d, low, high, confidence_level, method, (n_a, n_b))
