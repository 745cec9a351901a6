"""Two-way ANOVA (e.g. method x task) with partial eta squared, over statsmodels.

Fits `ols("y ~ C(a) * C(b)")` and reads the type II table of `anova_lm`. In a balanced design
(same number of seeds in every method x task cell) type I, II and III sums of squares agree.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm

from loralens.stats.results import to_jsonable


@dataclasses.dataclass(frozen=True)
class AnovaRow:
    """One line of an ANOVA table; F, p and partial eta squared are NaN for the residual."""

    term: str
    sum_sq: float
    df: float
    f_value: float
    p_value: float
    partial_eta_sq: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return to_jsonable(self)


@dataclasses.dataclass(frozen=True)
class AnovaTable:
    """A type II two-way ANOVA table."""

    response: str
    factors: tuple[str, str]
    n_obs: int
    rows: tuple[AnovaRow, ...]

    def row(self, term: str) -> AnovaRow:
        """The row for `term`, e.g. "method", "task", "method:task" or "Residual"."""
        for r in self.rows:
            if r.term == term:
                return r
        raise KeyError(f"no term {term!r}; terms are {[r.term for r in self.rows]}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return to_jsonable(self)


def _frame(data: Any, response: str, factor_a: str, factor_b: str) -> pd.DataFrame:
    """Long-format frame with columns y, a, b, validated."""
    if not isinstance(data, (pd.DataFrame, Mapping)):
        raise TypeError("data must be a pandas DataFrame or a mapping of column name -> values")
    frame = pd.DataFrame(data) if isinstance(data, Mapping) else data
    missing = [c for c in (response, factor_a, factor_b) if c not in frame.columns]
    if missing:
        raise ValueError(f"missing columns {missing}; have {list(frame.columns)}")
    y = pd.to_numeric(frame[response], errors="coerce").to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{response}: contains NaN, infinite or non-numeric values")
    out = pd.DataFrame({"y": y, "a": frame[factor_a].to_numpy(), "b": frame[factor_b].to_numpy()})
    if out[["a", "b"]].isna().to_numpy().any():
        raise ValueError("factor columns contain missing values")
    return out


def two_way_anova(
    data: Any,
    *,
    response: str = "score",
    factor_a: str = "method",
    factor_b: str = "task",
    interaction: bool = True,
) -> AnovaTable:
    """Type II two-way ANOVA of `response` on two factors, with partial eta squared."""
    frame = _frame(data, response, factor_a, factor_b)
    for col, name in (("a", factor_a), ("b", factor_b)):
        if frame[col].nunique() < 2:
            raise ValueError(f"{name}: needs at least 2 levels, got {frame[col].nunique()}")
    cells = frame.groupby(["a", "b"]).size()
    n_cells = frame["a"].nunique() * frame["b"].nunique()
    if interaction and len(cells) < n_cells:
        raise ValueError(f"every {factor_a} x {factor_b} cell needs at least one observation")
    n_params = n_cells if interaction else frame["a"].nunique() + frame["b"].nunique() - 1
    if len(frame) <= n_params:
        raise ValueError(
            f"{len(frame)} observations leave no residual degrees of freedom "
            f"(the model has {n_params} parameters): replicate cells (e.g. more seeds)"
        )
    formula = "y ~ C(a) * C(b)" if interaction else "y ~ C(a) + C(b)"
    table = anova_lm(smf.ols(formula, data=frame).fit(), typ=2)
    names = {"C(a)": factor_a, "C(b)": factor_b, "C(a):C(b)": f"{factor_a}:{factor_b}"}
    ss_resid = float(table.loc["Residual", "sum_sq"])
    rows = []
    for term, line in table.iterrows():
        ss = float(line["sum_sq"])
        is_resid = term == "Residual"
        rows.append(
            AnovaRow(
                term=names.get(str(term), str(term)),
                sum_sq=ss,
                df=float(line["df"]),
                f_value=math.nan if is_resid else float(line["F"]),
                p_value=math.nan if is_resid else float(line["PR(>F)"]),
                # Partial eta squared: share of the effect in effect + error variation.
                partial_eta_sq=math.nan if is_resid else ss / (ss + ss_resid),
            )
        )
    return AnovaTable(response, (factor_a, factor_b), len(frame), tuple(rows))
