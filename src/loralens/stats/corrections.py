"""Family-wise error corrections over `statsmodels.stats.multitest.multipletests`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from statsmodels.stats.multitest import multipletests

from loralens.stats._checks import check_level
from loralens.stats.results import to_jsonable

METHODS = ("holm", "bonferroni")


@dataclasses.dataclass(frozen=True)
class Correction:
    """Adjusted p-values and rejections for one family of tests, in input order."""

    method: str
    alpha: float
    p_values: tuple[float, ...]
    p_adjusted: tuple[float, ...]
    reject: tuple[bool, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return to_jsonable(self)


def adjust_pvalues(
    p_values: Sequence[float], *, method: str = "holm", alpha: float = 0.05
) -> Correction:
    """Adjust a family of p-values for multiple testing (Holm or Bonferroni)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    check_level(alpha, "alpha")
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"p_values must be a non-empty 1-D sequence, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"p_values must be finite and in [0, 1], got {p.tolist()}")
    reject, adjusted, _, _ = multipletests(p, alpha=alpha, method=method)
    return Correction(
        method=method,
        alpha=alpha,
        p_values=tuple(float(v) for v in p),
        p_adjusted=tuple(float(v) for v in adjusted),
        reject=tuple(bool(r) for r in reject),
    )


def holm(p_values: Sequence[float], *, alpha: float = 0.05) -> Correction:
    """Holm step-down adjustment (controls the family-wise error rate)."""
    return adjust_pvalues(p_values, method="holm", alpha=alpha)


def bonferroni(p_values: Sequence[float], *, alpha: float = 0.05) -> Correction:
    """Bonferroni adjustment (controls the family-wise error rate)."""
    return adjust_pvalues(p_values, method="bonferroni", alpha=alpha)
