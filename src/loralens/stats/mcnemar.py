"""McNemar's test on two models' paired per-example test predictions (statsmodels `mcnemar`)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar

from loralens.stats._checks import as_bool_pair, check_level
from loralens.stats.results import to_jsonable

# Below this many discordant pairs the chi-square approximation is poor: use the exact test.
EXACT_BELOW = 25


@dataclasses.dataclass(frozen=True)
class McNemarResult:
    """McNemar test of equal accuracy of models a and b on the same examples."""

    test: str
    estimate: float  # accuracy(a) - accuracy(b)
    ci_low: float
    ci_high: float
    confidence_level: float
    statistic: float  # chi-square, or min(discordant counts) for the exact test
    p_value: float
    exact: bool
    both_correct: int
    only_a_correct: int
    only_b_correct: int
    both_wrong: int

    @property
    def n(self) -> int:
        """Number of paired examples."""
        return self.both_correct + self.only_a_correct + self.only_b_correct + self.both_wrong

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {**to_jsonable(self), "n": self.n}


def mcnemar_from_table(
    table: Any,
    *,
    exact: bool | None = None,
    correction: bool = False,
    confidence_level: float = 0.95,
) -> McNemarResult:
    """McNemar test from a 2x2 table [[both correct, only a], [only b, both wrong]]."""
    # exact=None: exact binomial test below 25 discordant pairs, chi-square otherwise. The
    # chi-square test is uncorrected by default, following Fagerland, Lydersen & Laake (2013,
    # BMC Med Res Methodol 13:91), who found the continuity correction needlessly conservative.
    check_level(confidence_level, "confidence_level")
    counts = np.asarray(table)
    if counts.shape != (2, 2) or np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise ValueError(f"table must be a 2x2 array of non-negative counts, got {table!r}")
    (n11, n10), (n01, n00) = counts.astype(int).tolist()
    n = n11 + n10 + n01 + n00
    if n == 0:
        raise ValueError("table is empty")
    discordant = n10 + n01
    use_exact = discordant < EXACT_BELOW if exact is None else exact
    if discordant == 0:
        statistic, p_value = (0.0 if use_exact else math.nan), 1.0
    else:
        res = mcnemar(counts, exact=use_exact, correction=correction)
        statistic, p_value = float(res.statistic), float(res.pvalue)
    low, high = _paired_difference_ci(n10, n01, n, confidence_level)
    if use_exact:
        name = "McNemar exact (binomial)"
    else:
        name = "McNemar chi-square" + (" (continuity-corrected)" if correction else "")
    return McNemarResult(
        test=name,
        estimate=(n10 - n01) / n,
        ci_low=low,
        ci_high=high,
        confidence_level=confidence_level,
        statistic=statistic,
        p_value=min(p_value, 1.0),
        exact=use_exact,
        both_correct=n11,
        only_a_correct=n10,
        only_b_correct=n01,
        both_wrong=n00,
    )


def mcnemar_test(correct_a: Any, correct_b: Any, **kwargs: Any) -> McNemarResult:
    """McNemar test from per-example correctness (bool or 0/1) of models a and b."""
    a, b = as_bool_pair(correct_a, correct_b)
    table = [
        [int(np.sum(a & b)), int(np.sum(a & ~b))],
        [int(np.sum(~a & b)), int(np.sum(~a & ~b))],
    ]
    return mcnemar_from_table(table, **kwargs)


def mcnemar_from_predictions(
    predictions_a: Any, predictions_b: Any, labels: Any, **kwargs: Any
) -> McNemarResult:
    """McNemar test from two models' predicted labels on the same examples."""
    pa, pb, y = (np.asarray(v) for v in (predictions_a, predictions_b, labels))
    if not (pa.shape == pb.shape == y.shape) or y.ndim != 1:
        raise ValueError(
            f"predictions and labels must be 1-D of equal length, got {pa.shape}, {pb.shape}, "
            f"{y.shape}"
        )
    return mcnemar_test(pa == y, pb == y, **kwargs)


def _paired_difference_ci(
    only_a: int, only_b: int, n: int, confidence_level: float
) -> tuple[float, float]:
    """Agresti-Min (2005) adjusted Wald CI for a difference of paired proportions.

    statsmodels 0.15 has no CI for paired proportions (`confint_proportions_paired` comes in a
    later release), so this is the one formula written here: add 1/2 to every cell, then Wald.
    """
    z = stats.norm.ppf(0.5 + confidence_level / 2)
    n_adj = n + 2
    diff = (only_a - only_b) / n_adj
    var = ((only_a + only_b + 1) - (only_a - only_b) ** 2 / n_adj) / n_adj**2
    half = z * math.sqrt(max(var, 0.0))
    return float(max(diff - half, -1.0)), float(min(diff + half, 1.0))
