"""Two methods compared on per-example scores of several runs each, examples crossed with runs.

Every run of a comparison scores the same test examples, so the data are a crossed design:
examples x runs, runs nested in methods. The difference of mean accuracy then has two sources of
uncertainty, and a test must carry both to generalise over new seeds *and* new examples:

    y[e, m, r] = mu[m] + u[e] + w[e, m] + v[m, r] + eps[e, m, r]

u (example difficulty) is common to every run and cancels; v (a run's own luck: seed, head
initialisation, data order) is what a test across seeds sees; w (examples one method gets right
more than the other) is what a test of two fixed models (McNemar) sees. Neither of those tests
sees the other component: a test across seeds treats the test set as fixed, a per-example test
treats the models as fixed. Here

    Var(D) = s2_a / n_a + s2_b / n_b + Var(w_a - w_b) / E

with s2 the variance of run means within a method (it holds v and eps), and Var(w_a - w_b)
estimated from the per-example differences of method means minus their within-method residual
part (the two-way examples x runs residual mean square). This is the linear crossed random-effects
model with method-of-moments variance components (generalizability theory; Clark 1973's
"language-as-fixed-effect" problem); the degrees of freedom are Satterthwaite's. A negative
estimate of the example component is set to zero, which leaves Welch's test on run means.

Where the design pairs runs (run i of each method trained with the same seed: the same data
order and head initialisation), `paired_crossed_difference_test` analyses the per-seed, per-example
differences d[s, e] = y[e, a, s] - y[e, b, s], a two-way seeds x examples layout without
replication:

    Var(mean d) = (MS_seeds + MS_examples - MS_residual) / (S E)

(expected mean squares of the random two-way model), Satterthwaite df; a negative example part is
dropped, which leaves the paired t-test on per-seed differences. The shared run effects cancel
within a pair, so the paired test gains power when they are correlated, at the price of fewer
degrees of freedom (S - 1) when they are not; the unpaired test is conservative under a positive
correlation, never liberal.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from scipy import stats

from loralens.stats._checks import check_alternative, check_level
from loralens.stats.results import to_jsonable


@dataclasses.dataclass(frozen=True)
class CrossedResult:
    """A crossed examples x runs test of mean(a) - mean(b) with its parts of variance."""

    test: str
    alternative: str
    estimate: float  # mean score of a's runs - mean score of b's runs
    ci_low: float
    ci_high: float
    confidence_level: float
    statistic: float  # t
    df: float  # Satterthwaite
    p_value: float
    null_value: float
    se: float
    se_runs: float  # the part from run-to-run variation (Welch's standard error)
    se_examples: float  # the part from example-by-method variation; 0 when estimated <= 0
    n_runs: tuple[int, int]
    n_examples: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return to_jsonable(self)


def _scores(values: Any, name: str) -> np.ndarray:
    """`values` as a finite (runs, examples) float64 array with at least 2 of each."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a (runs, examples) array, got shape {arr.shape}")
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ValueError(f"{name}: need at least 2 runs and 2 examples, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


def _residual_ms(y: np.ndarray) -> tuple[float, int]:
    """Two-way (runs x examples) residual mean square of one method's scores, and its df."""
    r = y - y.mean(0) - y.mean(1, keepdims=True) + y.mean()  # (runs, examples)
    df = (y.shape[0] - 1) * (y.shape[1] - 1)
    return float((r**2).sum() / df), df


def _p_value(t: float, df: float, alternative: str) -> float:
    """p-value of a t statistic."""
    if alternative == "less":
        return float(stats.t.cdf(t, df))
    if alternative == "greater":
        return float(stats.t.sf(t, df))
    return float(2 * stats.t.sf(abs(t), df))


def crossed_difference_test(
    a: Any,
    b: Any,
    /,
    *,
    alternative: str = "two-sided",
    null_difference: float = 0.0,
    confidence_level: float = 0.95,
) -> CrossedResult:
    """Test mean(a) - mean(b) over runs and examples; `a`, `b`: (runs, examples) scores."""
    check_alternative(alternative)
    check_level(confidence_level, "confidence_level")
    x, y = _scores(a, "a"), _scores(b, "b")
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"a and b must score the same examples: a has {x.shape[1]}, b has {y.shape[1]}"
        )
    (n_a, n_e), n_b = x.shape, y.shape[0]
    d = x.mean(0) - y.mean(0)  # (examples,) per-example difference of method means
    ms_a, df_a = _residual_ms(x)
    ms_b, df_b = _residual_ms(y)
    # (variance term, its degrees of freedom); the run terms are Welch's.
    runs = [(x.mean(1).var(ddof=1) / n_a, n_a - 1), (y.mean(1).var(ddof=1) / n_b, n_b - 1)]
    examples = [
        (d.var(ddof=1) / n_e, n_e - 1),
        (-ms_a / (n_a * n_e), df_a),
        (-ms_b / (n_b * n_e), df_b),
    ]
    test = "crossed examples x runs t-test (Satterthwaite df)"
    why = "the scores do not vary between runs or examples"
    return _result(
        test, float(x.mean() - y.mean()), runs, examples, why, (n_a, n_b), n_e,
        alternative, null_difference, confidence_level,
    )  # fmt: skip


def _result(
    test: str,
    estimate: float,
    runs: list[tuple[float, int]],
    examples: list[tuple[float, int]],
    why: str,
    n_runs: tuple[int, int],
    n_examples: int,
    alternative: str,
    null_difference: float,
    confidence_level: float,
) -> CrossedResult:
    """The t-test of `estimate` whose variance is the run terms plus, when it is positive, the
    example part ((term, df) pairs; Satterthwaite df); ValueError(`why`) when nothing varies."""
    example_part = sum(c for c, _ in examples)
    terms = runs + (examples if example_part > 0 else [])
    var = sum(c for c, _ in terms)
    if not var > 0:
        raise ValueError(f"{why}: the test is undefined")
    se = math.sqrt(var)
    df = max(1.0, var**2 / sum(c**2 / k for c, k in terms))
    t = (estimate - null_difference) / se
    half = float(stats.t.ppf(0.5 + confidence_level / 2, df)) * se
    return CrossedResult(
        test=test,
        alternative=alternative,
        estimate=estimate,
        ci_low=estimate - half,
        ci_high=estimate + half,
        confidence_level=confidence_level,
        statistic=float(t),
        df=float(df),
        p_value=_p_value(t, df, alternative),
        null_value=float(null_difference),
        se=se,
        se_runs=math.sqrt(sum(c for c, _ in runs)),
        se_examples=math.sqrt(max(example_part, 0.0)),
        n_runs=n_runs,
        n_examples=n_examples,
    )


def _two_way_ms(d: np.ndarray) -> tuple[float, float, float]:
    """Mean squares of seeds, examples and residual of a (seeds, examples) layout."""
    s, e = d.shape
    grand, by_seed, by_example = d.mean(), d.mean(1), d.mean(0)
    ms_seeds = e * float(((by_seed - grand) ** 2).sum()) / (s - 1)
    ms_examples = s * float(((by_example - grand) ** 2).sum()) / (e - 1)
    resid = d - by_seed[:, None] - by_example[None, :] + grand
    return ms_seeds, ms_examples, float((resid**2).sum()) / ((s - 1) * (e - 1))


def paired_crossed_difference_test(
    a: Any,
    b: Any,
    /,
    *,
    alternative: str = "two-sided",
    null_difference: float = 0.0,
    confidence_level: float = 0.95,
) -> CrossedResult:
    """Test mean(a) - mean(b) over seeds and examples, row i of `a` paired with row i of `b`
    (the same seed); `a`, `b`: (runs, examples) scores of the same shape."""
    check_alternative(alternative)
    check_level(confidence_level, "confidence_level")
    x, y = _scores(a, "a"), _scores(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"paired runs need the same shape: a is {x.shape}, b is {y.shape}")
    d = x - y  # (seeds, examples)
    (n_s, n_e), n = d.shape, d.size
    ms_s, ms_e, ms_r = _two_way_ms(d)
    runs = [(ms_s / n, n_s - 1)]
    examples = [(ms_e / n, n_e - 1), (-ms_r / n, (n_s - 1) * (n_e - 1))]
    test = "paired crossed seeds x examples t-test (Satterthwaite df)"
    why = "the paired differences do not vary"
    return _result(
        test, float(d.mean()), runs, examples, why, (n_s, n_s), n_e,
        alternative, null_difference, confidence_level,
    )  # fmt: skip


__all__ = ["CrossedResult", "crossed_difference_test", "paired_crossed_difference_test"]
